"""Accounts on Firestore, without transactions: each decision reads a document and writes it
back only if nobody changed it since (a precondition on its update time), else reads again.
Racing requests never wait on locks, and exactly one of them wins. Rate-limit counters are
one document per key and window, bumped with an atomic Increment whose result Firestore returns.

Collections: `users` (id = SHA-256 of the email), `otps` (same id), `rate_limits` (id =
SHA-256 of key and window). `otps.expire_at` and `rate_limits.expire_at` are meant for a
Firestore TTL policy (infra/), which clears old documents; nothing here depends on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from assay.adapters.accounts import Accounts, Hit, OtpCheck, judge_otp, window_of
from assay.errors import Unavailable
from assay.models.citrus import OtpRecord, User

R = TypeVar("R")
# What to write after a read: None, ("create"|"update", fields) or ("delete", None).
Write = tuple[str, dict[str, Any] | None] | None
_ATTEMPTS = 50
_RACED = (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.NotFound, gexc.Aborted)


def _doc_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class FirestoreAccounts(Accounts):
    def __init__(self, project: str, database: str = "(default)") -> None:
        self.client = firestore.Client(project=project, database=database)
        self.users = self.client.collection("users")
        self.otps = self.client.collection("otps")
        self.limits = self.client.collection("rate_limits")

    def _decide(self, ref: Any, decide: Callable[[Any], tuple[R, Write]]) -> R:
        """Read `ref`, let `decide` choose a result and a write, and apply the write only if
        the document is still as read; otherwise start over."""
        try:
            for _ in range(_ATTEMPTS):
                snap = ref.get()
                result, write = decide(snap)
                if write is None:
                    return result
                action, fields = write
                try:
                    if action == "create":
                        ref.create(fields)
                    else:
                        option = self.client.write_option(last_update_time=snap.update_time)
                        if action == "update":
                            ref.update(fields, option=option)
                        else:
                            ref.delete(option=option)
                except _RACED:
                    continue
                return result
        except gexc.GoogleAPIError as exc:
            raise Unavailable(f"Firestore: {type(exc).__name__}") from exc
        raise Unavailable("Firestore: too much contention on one document; retry")

    # -- users -----------------------------------------------------------------------------
    def create_user(self, user: User) -> User:
        def create(snap: Any) -> tuple[User, Write]:
            if snap.exists:
                return User.model_validate(snap.to_dict()), None
            return user, ("create", user.model_dump())

        return self._decide(self.users.document(_doc_id(user.email)), create)

    def user_by_email(self, email: str) -> User | None:
        snap = self.users.document(_doc_id(email)).get()
        return User.model_validate(snap.to_dict()) if snap.exists else None

    def _by_id(self, user_id: str) -> Any:
        query = self.users.where(filter=FieldFilter("id", "==", user_id)).limit(1)
        found = list(query.stream())
        return found[0] if found else None

    def user_by_id(self, user_id: str) -> User | None:
        snap = self._by_id(user_id)
        return User.model_validate(snap.to_dict()) if snap is not None else None

    def delete_user(self, user_id: str) -> bool:
        snap = self._by_id(user_id)
        if snap is None:
            return False
        snap.reference.delete()
        return True

    # -- one-time codes --------------------------------------------------------------------
    @staticmethod
    def _record(snap: Any) -> OtpRecord | None:
        return OtpRecord.model_validate(snap.to_dict()) if snap.exists else None

    def put_otp(self, record: OtpRecord, *, min_interval_s: float) -> float | None:
        fields = {**record.model_dump(), "expire_at": _at(record.expires_at)}

        def put(snap: Any) -> tuple[float | None, Write]:
            pending = self._record(snap)
            if pending is None:
                return None, ("create", fields)
            wait = pending.created_at + min_interval_s - record.created_at
            return (wait, None) if wait > 0 else (None, ("update", fields))

        return self._decide(self.otps.document(_doc_id(record.email)), put)

    def drop_otp(self, email: str, created_at: float) -> None:
        def drop(snap: Any) -> tuple[None, Write]:
            pending = self._record(snap)
            mine = pending is not None and pending.created_at == created_at
            return None, ("delete", None) if mine else None

        self._decide(self.otps.document(_doc_id(email)), drop)

    def consume_otp(
        self, email: str, matches: Callable[[OtpRecord], bool], *, now: float, max_attempts: int
    ) -> OtpCheck:
        def consume(snap: Any) -> tuple[OtpCheck, Write]:
            record = self._record(snap)
            outcome = judge_otp(record, matches, now, max_attempts)
            if outcome == "wrong" and record is not None:
                return outcome, ("update", {"attempts": record.attempts + 1})
            return outcome, None if outcome == "missing" else ("delete", None)

        return self._decide(self.otps.document(_doc_id(email)), consume)

    # -- rate limits -----------------------------------------------------------------------
    def hit(self, key: str, *, window_s: int, now: float) -> Hit:
        start, end = window_of(now, window_s)
        ref = self.limits.document(_doc_id(f"{key}|{start}"))
        try:
            result = ref.set({"count": firestore.Increment(1), "expire_at": _at(end)}, merge=True)
        except gexc.GoogleAPIError as exc:
            raise Unavailable(f"Firestore: {type(exc).__name__}") from exc
        # The value after the increment, as Firestore applied it (exact under races).
        return Hit(int(result.transform_results[0].integer_value), end)

    # -- health ----------------------------------------------------------------------------
    def ping(self) -> None:
        try:
            list(self.users.limit(1).stream(timeout=5))
        except Exception as exc:
            raise Unavailable(f"Firestore: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.client.close()
