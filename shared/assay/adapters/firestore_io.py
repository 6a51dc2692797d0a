"""Firestore plumbing for the store: bounded retries, error translation, batched writes, claims.

Every call goes through `Docs`, which bounds it (the client's own defaults retry a read for up to
five minutes: an API request would hang that long while Firestore is unreachable).

A commit holds at most 500 writes. A run with more cases than that cannot be written in one
commit, so it is written under a *claim*: a run document holding only `claim` (a token and an
expiry) is created first, which reserves the id atomically; readers treat a claimed run as
absent; the cases follow in batches; the last write replaces the claim with the run itself.
Deleting a run claims it the same way first, so it disappears at once. A claim left by a crashed
process expires after CLAIM_TTL_S and the next create takes it over, deleting the leftovers.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from google.api_core import exceptions as gx
from google.api_core import retry as retries
from google.cloud import firestore

from assay.errors import Conflict, Unavailable

MAX_WRITES = 500
CLAIM_TTL_S = 600.0
CAS_ATTEMPTS = 10
F = TypeVar("F", bound=Callable[..., Any])
_TRANSIENT = (
    gx.ServiceUnavailable,
    gx.DeadlineExceeded,
    gx.RetryError,
    gx.ResourceExhausted,
    gx.InternalServerError,
    gx.Aborted,
)

Write = tuple[Any, dict[str, Any] | None]  # (document reference, data to set or None to delete)


def translate_errors(method: F) -> F:
    """Transient Firestore failures become Unavailable: the web layer answers 503 and the
    queue redelivers the message."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except _TRANSIENT as exc:
            raise Unavailable(f"Firestore unavailable: {exc}") from exc
        except ValueError as exc:
            if isinstance(exc.__cause__, gx.Aborted):  # transaction retries exhausted
                raise Unavailable(f"Firestore contention: {exc}") from exc
            raise

    return wrapper  # type: ignore[return-value]


def is_claimed(doc: dict[str, Any]) -> bool:
    return "claim" in doc


def _claim_doc(token: str) -> dict[str, Any]:
    return {"claim": {"token": token, "expires": time.time() + CLAIM_TTL_S}}


class Docs:
    """Document reads and writes with one retry policy: transient errors retried with backoff
    for at most `deadline_s` in all."""

    def __init__(self, client: firestore.Client, deadline_s: float) -> None:
        self.client = client
        self.opts: dict[str, Any] = {
            "retry": retries.Retry(
                predicate=retries.if_exception_type(gx.ServiceUnavailable, gx.ResourceExhausted),
                initial=0.1,
                maximum=2.0,
                timeout=deadline_s,
            ),
            "timeout": deadline_s,
        }

    def get(self, ref: Any, txn: Any = None) -> dict[str, Any] | None:
        return ref.get(transaction=txn, **self.opts).to_dict()  # type: ignore[no-any-return]

    def stream(self, query: Any) -> list[dict[str, Any]]:
        return [s.to_dict() for s in query.stream(**self.opts)]

    def refs(self, collection: Any) -> list[Any]:
        return list(collection.list_documents(**self.opts))

    def create(self, ref: Any, data: dict[str, Any]) -> None:
        ref.create(data, **self.opts)

    def update(self, ref: Any, fields: dict[str, Any], **precondition: Any) -> None:
        option = self.client.write_option(**precondition) if precondition else None
        ref.update(fields, option=option, **self.opts)

    def delete(self, ref: Any, **precondition: Any) -> None:
        option = self.client.write_option(**precondition) if precondition else None
        ref.delete(option=option, **self.opts)

    def transact(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(transaction)` in a transaction, retried on contention."""
        return firestore.transactional(fn)(self.client.transaction())

    def commit(
        self, writes: Iterable[Write], first_create: tuple[Any, dict[str, Any]] | None = None
    ) -> None:
        """Commit `writes` in batches of MAX_WRITES (one atomic batch when they fit);
        `first_create` is created (failing if it exists) in the first batch."""
        batch, count = self.client.batch(), 0
        if first_create is not None:
            batch.create(first_create[0], first_create[1])
            count = 1
        for ref, data in writes:
            if data is None:
                batch.delete(ref)
            else:
                batch.set(ref, data)
            count += 1
            if count == MAX_WRITES:
                batch.commit(**self.opts)
                batch, count = self.client.batch(), 0
        if count:
            batch.commit(**self.opts)

    def compare_and_set(
        self, ref: Any, change: Callable[[dict[str, Any] | None], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Apply `change(doc)` (fields to update; empty: nothing to do) unless the document
        changed since it was read, then look again. No transaction: a hot document is never
        locked against the blind increments other requests apply to it. Returns the doc as
        last seen, with the change applied."""
        doc = None
        for _ in range(CAS_ATTEMPTS):
            snapshot = ref.get(**self.opts)
            doc = snapshot.to_dict()
            fields = change(doc)
            if not fields:
                return doc
            try:
                self.update(ref, fields, last_update_time=snapshot.update_time)
                return {**(doc or {}), **fields}
            except (gx.FailedPrecondition, gx.NotFound):
                continue
        return doc

    def delete_all(self, collection: Any) -> None:
        self.commit((ref, None) for ref in self.refs(collection))

    # -- claims ----------------------------------------------------------------------------
    def claim_new(self, ref: Any, conflict: str) -> tuple[str, bool]:
        """Reserve an id that must not exist: (token, took_over_an_expired_claim)."""
        token = uuid.uuid4().hex
        try:
            self.create(ref, _claim_doc(token))
            return token, False
        except gx.AlreadyExists:
            pass

        def take_over(txn: Any) -> None:
            doc = self.get(ref, txn)
            if doc is not None:
                claim = doc.get("claim")
                if claim is None or claim["expires"] > time.time():
                    raise Conflict(conflict)
            txn.set(ref, _claim_doc(token))

        self.transact(take_over)
        return token, True

    def claim_existing(self, ref: Any) -> str | None:
        """Claim (and so hide) a visible run; None when there is none."""
        token = uuid.uuid4().hex

        def claim(txn: Any) -> bool:
            doc = self.get(ref, txn)
            if doc is None or is_claimed(doc):
                return False
            txn.update(ref, _claim_doc(token))
            return True

        return token if self.transact(claim) else None

    def release(self, ref: Any, token: str, doc: dict[str, Any] | None) -> None:
        """Replace our claim with `doc` (the run becomes visible), or delete the run when `doc`
        is None; Conflict if the claim expired and another request took it over meanwhile."""

        def finish(txn: Any) -> None:
            current = self.get(ref, txn) or {}
            if current.get("claim", {}).get("token") != token:
                raise Conflict(f"Run '{ref.id}' was changed by another request meanwhile")
            if doc is None:
                txn.delete(ref)
            else:
                txn.set(ref, doc)

        self.transact(finish)
