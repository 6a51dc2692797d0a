"""The accounts port: users, pending one-time codes and rate-limit counters.

Adapters: `sqlite_accounts.SQLiteAccounts` (embedded default) and
`firestore_accounts.FirestoreAccounts` (production). Both pass
tests/contract/test_accounts_contract.py. Every method that decides something does so
atomically, so several instances sharing the store agree.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from assay.models.citrus import OtpRecord, User

OtpCheck = Literal["ok", "wrong", "expired", "missing", "exhausted"]


@dataclass(frozen=True)
class Hit:
    """A request counted in a fixed window: `count` includes it; the window ends at `reset`."""

    count: int
    reset: int


class Accounts(ABC):
    # -- users -----------------------------------------------------------------------------
    @abstractmethod
    def create_user(self, user: User) -> User:
        """Store `user` unless its email has an account; either way return the account."""

    @abstractmethod
    def user_by_email(self, email: str) -> User | None: ...

    @abstractmethod
    def user_by_id(self, user_id: str) -> User | None: ...

    @abstractmethod
    def delete_user(self, user_id: str) -> bool: ...

    # -- one-time codes --------------------------------------------------------------------
    @abstractmethod
    def put_otp(self, record: OtpRecord, *, min_interval_s: float) -> float | None:
        """Replace the email's pending code with `record`, unless the pending one was created
        less than `min_interval_s` before `record.created_at`: then keep it and return the
        seconds left until a new one may be made."""

    @abstractmethod
    def drop_otp(self, email: str, created_at: float) -> None:
        """Remove the email's pending code if it is the one created at `created_at`."""

    @abstractmethod
    def consume_otp(
        self, email: str, matches: Callable[[OtpRecord], bool], *, now: float, max_attempts: int
    ) -> OtpCheck:
        """Check a code against the pending record, atomically.

        missing: no record. expired: past `expires_at` (record removed). exhausted: already
        `max_attempts` wrong tries (record removed). ok: `matches` said yes (record removed, so
        a code works once even when two checks race). wrong: one more wrong try counted.
        """

    # -- rate limits -----------------------------------------------------------------------
    @abstractmethod
    def hit(self, key: str, *, window_s: int, now: float) -> Hit:
        """Count one request for `key` in the current fixed window (aligned to `window_s`)."""

    # -- health ----------------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    def close(self) -> None:  # noqa: B027 - optional for adapters
        """Release connections."""


def window_of(now: float, window_s: int) -> tuple[int, int]:
    """(start, end) of the fixed window holding `now`."""
    start = int(now // window_s) * window_s
    return start, start + window_s


def judge_otp(
    record: OtpRecord | None, matches: Callable[[OtpRecord], bool], now: float, max_attempts: int
) -> OtpCheck:
    """The decision every adapter applies inside its transaction."""
    if record is None:
        return "missing"
    if now >= record.expires_at:
        return "expired"
    if record.attempts >= max_attempts:
        return "exhausted"
    return "ok" if matches(record) else "wrong"
