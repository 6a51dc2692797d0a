"""Accounts on Firestore. Every decision runs in a transaction, so instances agree.

Collections: `users` (id = SHA-256 of the email), `otps` (same id), `rate_limits` (id =
SHA-256 of the key). `otps.expire_at` and `rate_limits.expire_at` are meant for a Firestore
TTL policy (infra/), which clears old documents; nothing here depends on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from assay.adapters.accounts import Accounts, Hit, OtpCheck, judge_otp, window_of
from assay.errors import Unavailable
from assay.models.citrus import OtpRecord, User


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

    def _run(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(transaction)` as a Firestore transaction (retried on contention)."""
        try:
            return firestore.transactional(fn)(self.client.transaction())
        except Unavailable:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("google."):
                raise Unavailable(f"Firestore: {type(exc).__name__}") from exc
            raise

    # -- users -----------------------------------------------------------------------------
    def create_user(self, user: User) -> User:
        ref = self.users.document(_doc_id(user.email))

        def create(tx: Any) -> User:
            snap = ref.get(transaction=tx)
            if snap.exists:
                return User.model_validate(snap.to_dict())
            tx.set(ref, user.model_dump())
            return user

        result: User = self._run(create)
        return result

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
    def _otp_doc(record: OtpRecord) -> dict[str, Any]:
        return {**record.model_dump(), "expire_at": _at(record.expires_at)}

    @staticmethod
    def _record(snap: Any) -> OtpRecord | None:
        return OtpRecord.model_validate(snap.to_dict()) if snap.exists else None

    def put_otp(self, record: OtpRecord, *, min_interval_s: float) -> float | None:
        ref = self.otps.document(_doc_id(record.email))

        def put(tx: Any) -> float | None:
            pending = self._record(ref.get(transaction=tx))
            if pending is not None:
                wait = pending.created_at + min_interval_s - record.created_at
                if wait > 0:
                    return wait
            tx.set(ref, self._otp_doc(record))
            return None

        wait: float | None = self._run(put)
        return wait

    def drop_otp(self, email: str, created_at: float) -> None:
        ref = self.otps.document(_doc_id(email))

        def drop(tx: Any) -> None:
            pending = self._record(ref.get(transaction=tx))
            if pending is not None and pending.created_at == created_at:
                tx.delete(ref)

        self._run(drop)

    def consume_otp(
        self, email: str, matches: Callable[[OtpRecord], bool], *, now: float, max_attempts: int
    ) -> OtpCheck:
        ref = self.otps.document(_doc_id(email))

        def consume(tx: Any) -> OtpCheck:
            record = self._record(ref.get(transaction=tx))
            outcome = judge_otp(record, matches, now, max_attempts)
            if outcome == "wrong" and record is not None:
                tx.update(ref, {"attempts": record.attempts + 1})
            elif outcome != "missing":
                tx.delete(ref)
            return outcome

        outcome: OtpCheck = self._run(consume)
        return outcome

    # -- rate limits -----------------------------------------------------------------------
    def hit(self, key: str, *, window_s: int, now: float) -> Hit:
        start, end = window_of(now, window_s)
        ref = self.limits.document(_doc_id(key))

        def count(tx: Any) -> int:
            snap = ref.get(transaction=tx)
            doc: dict[str, Any] = (snap.to_dict() or {}) if snap.exists else {}
            n = doc["count"] + 1 if doc.get("window_start") == start else 1
            tx.set(ref, {"window_start": start, "count": n, "expire_at": _at(end)})
            return n

        return Hit(int(self._run(count)), end)

    # -- health ----------------------------------------------------------------------------
    def ping(self) -> None:
        try:
            list(self.users.limit(1).stream(timeout=5))
        except Exception as exc:
            raise Unavailable(f"Firestore: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.client.close()
