"""The auth service on the real SQLite accounts adapter, with a clock we can move: what a user
notices after minutes pass (expired codes, the resend interval) and what a leaked store shows."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from assay.adapters.sqlite_accounts import SQLiteAccounts
from assay.errors import InvalidOtp, RateLimited
from assay.models.citrus import LoginIn, RegisterIn, VerifyOtpIn
from assay.services.auth import AuthService
from assay.services.auth_tokens import TokenSigner


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_code(self, email: str, name: str, code: str, minutes: int) -> None:
        self.sent.append((email, name, code))

    def check(self) -> str:
        return "test"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def parts(tmp_path: Path) -> tuple[AuthService, Outbox, Clock, Path]:
    outbox, clock = Outbox(), Clock()
    db = tmp_path / "accounts.db"
    service = AuthService(SQLiteAccounts(db), outbox, TokenSigner("k" * 40), b"pepper", clock)
    return service, outbox, clock, db


def test_a_code_expires_after_10_minutes(parts):
    service, outbox, clock, _ = parts
    service.register(RegisterIn(email="a@example.com", name="A"))
    code = outbox.sent[-1][2]
    clock.now += 600
    with pytest.raises(InvalidOtp):
        service.verify(VerifyOtpIn(email="a@example.com", otp=code))
    # A code used just inside its 10 minutes works.
    clock.now += 60
    service.login(LoginIn(email="a@example.com"))
    clock.now += 599
    token = service.verify(VerifyOtpIn(email="a@example.com", otp=outbox.sent[-1][2]))
    assert token.user.email == "a@example.com"


def test_a_new_code_after_60_seconds_replaces_the_old(parts):
    service, outbox, clock, _ = parts
    service.register(RegisterIn(email="a@example.com", name="A"))
    first = outbox.sent[-1][2]
    clock.now += 59
    with pytest.raises(RateLimited) as refused:
        service.login(LoginIn(email="a@example.com"))
    assert refused.value.retry_after == 1 and len(outbox.sent) == 1
    clock.now += 1
    service.login(LoginIn(email="a@example.com"))
    second = outbox.sent[-1][2]
    if first != second:
        with pytest.raises(InvalidOtp):
            service.verify(VerifyOtpIn(email="a@example.com", otp=first))
    assert service.verify(VerifyOtpIn(email="a@example.com", otp=second)).access_token


def test_the_store_never_holds_a_code_in_clear(parts):
    service, outbox, _, db = parts
    service.register(RegisterIn(email="a@example.com", name="A"))
    code = outbox.sent[-1][2]
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert code not in dump
    # Not the reference's bare SHA-256 either (a million guesses away from the code).
    assert hashlib.sha256(code.encode()).hexdigest() not in dump


def test_codes_are_six_digits_and_vary(parts):
    service, outbox, clock, _ = parts
    for i in range(20):
        service.register(RegisterIn(email=f"u{i}@example.com", name="U"))
    codes = [c for _, _, c in outbox.sent]
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) > 15
