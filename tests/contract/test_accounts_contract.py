"""One contract for the accounts port, run against SQLite (embedded) and Firestore (the real
emulator): users, single-use codes that survive races, and shared rate-limit counters."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from assay.adapters.accounts import Accounts
from assay.models.citrus import OtpRecord, User

NOW = 1_800_000_000.0  # a whole minute


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulator)])
def accounts(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Accounts]:
    if request.param == "sqlite":
        from assay.adapters.sqlite_accounts import SQLiteAccounts

        adapter: Accounts = SQLiteAccounts(tmp_path / "accounts.db")
    else:
        emulator = request.getfixturevalue("firestore_emulator")
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
        from assay.adapters.firestore_accounts import FirestoreAccounts

        adapter = FirestoreAccounts(f"accounts-{uuid.uuid4().hex[:12]}")
    yield adapter
    adapter.close()


def user(email: str = "a@example.com", name: str = "A") -> User:
    return User(id=uuid.uuid4().hex, email=email, name=name, created_at="2026-03-23T10:00:00.000Z")


def record(email: str = "a@example.com", at: float = NOW, digest: str | None = "d1") -> OtpRecord:
    return OtpRecord(
        email=email, salt="00", digest=digest, created_at=at, expires_at=at + 600, attempts=0
    )


def is_d1(r: OtpRecord) -> bool:
    return r.digest == "d1"


def never(r: OtpRecord) -> bool:
    return False


def in_threads(n: int, fn: Callable[[], object]) -> list[object]:
    results: list[object] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        results.append(fn())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_users_by_email_and_id_and_deleted(accounts: Accounts) -> None:
    alice = accounts.create_user(user("alice@example.com", "Alice"))
    assert accounts.user_by_email("alice@example.com") == alice
    assert accounts.user_by_id(alice.id) == alice
    assert accounts.user_by_email("bob@example.com") is None
    assert accounts.user_by_id("nope") is None
    assert accounts.delete_user(alice.id) is True
    assert accounts.delete_user(alice.id) is False
    assert accounts.user_by_id(alice.id) is None and accounts.user_by_email(alice.email) is None


def test_one_account_per_email_even_when_created_at_once(accounts: Accounts) -> None:
    first = accounts.create_user(user("same@example.com", "First"))
    again = accounts.create_user(user("same@example.com", "Second"))
    assert again == first
    racing = in_threads(4, lambda: accounts.create_user(user("race@example.com", "R")))
    assert len({u.id for u in racing}) == 1  # type: ignore[attr-defined]


def test_code_is_single_use(accounts: Accounts) -> None:
    assert accounts.put_otp(record(), min_interval_s=60) is None
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 1, max_attempts=5) == "ok"
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 2, max_attempts=5) == "missing"


def test_racing_checks_of_one_code_succeed_once(accounts: Accounts) -> None:
    accounts.put_otp(record(), min_interval_s=60)
    outcomes = in_threads(
        6, lambda: accounts.consume_otp("a@example.com", is_d1, now=NOW + 1, max_attempts=5)
    )
    assert sorted(outcomes) == ["missing"] * 5 + ["ok"]  # type: ignore[type-var]


def test_wrong_tries_are_counted_then_refused(accounts: Accounts) -> None:
    accounts.put_otp(record(), min_interval_s=60)
    for _ in range(5):
        assert accounts.consume_otp("a@example.com", never, now=NOW + 1, max_attempts=5) == "wrong"
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 1, max_attempts=5) == "exhausted"
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 1, max_attempts=5) == "missing"


def test_racing_wrong_tries_are_all_counted(accounts: Accounts) -> None:
    accounts.put_otp(record(), min_interval_s=60)
    in_threads(5, lambda: accounts.consume_otp("a@example.com", never, now=NOW, max_attempts=5))
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW, max_attempts=5) == "exhausted"


def test_expired_code_is_refused_and_removed(accounts: Accounts) -> None:
    accounts.put_otp(record(), min_interval_s=60)
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 600, max_attempts=5) == "expired"
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 1, max_attempts=5) == "missing"


def test_a_new_code_waits_for_the_interval_and_replaces_the_old(accounts: Accounts) -> None:
    assert accounts.put_otp(record(), min_interval_s=60) is None
    wait = accounts.put_otp(record(at=NOW + 20, digest="d2"), min_interval_s=60)
    assert wait == pytest.approx(40)
    assert accounts.consume_otp("a@example.com", never, now=NOW + 21, max_attempts=5) == "wrong"
    assert accounts.put_otp(record(at=NOW + 61, digest="d2"), min_interval_s=60) is None
    # The new code replaced the old one, and with it the count of wrong tries.
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW + 62, max_attempts=5) == "wrong"
    assert (
        accounts.consume_otp(
            "a@example.com", lambda r: r.digest == "d2", now=NOW + 63, max_attempts=5
        )
        == "ok"
    )


def test_drop_removes_only_the_code_it_names(accounts: Accounts) -> None:
    accounts.put_otp(record(), min_interval_s=60)
    accounts.drop_otp("a@example.com", NOW + 5)
    assert accounts.put_otp(record(at=NOW + 1), min_interval_s=60) is not None
    accounts.drop_otp("a@example.com", NOW)
    assert accounts.put_otp(record(at=NOW + 1), min_interval_s=60) is None


def test_codes_of_different_emails_are_apart(accounts: Accounts) -> None:
    accounts.put_otp(record("a@example.com"), min_interval_s=60)
    assert accounts.put_otp(record("b@example.com"), min_interval_s=60) is None
    assert accounts.consume_otp("b@example.com", is_d1, now=NOW, max_attempts=5) == "ok"
    assert accounts.consume_otp("a@example.com", is_d1, now=NOW, max_attempts=5) == "ok"


def test_rate_counters_count_per_key_and_window(accounts: Accounts) -> None:
    hits = [accounts.hit("auth|ip:1", window_s=60, now=NOW + i) for i in range(3)]
    assert [h.count for h in hits] == [1, 2, 3]
    assert {h.reset for h in hits} == {int(NOW) + 60}
    assert accounts.hit("auth|ip:2", window_s=60, now=NOW + 5).count == 1
    later = accounts.hit("auth|ip:1", window_s=60, now=NOW + 61)
    assert (later.count, later.reset) == (1, int(NOW) + 120)


def test_racing_hits_are_all_counted(accounts: Accounts) -> None:
    counts = in_threads(8, lambda: accounts.hit("chat|user:u", window_s=60, now=NOW + 1).count)
    assert sorted(counts) == list(range(1, 9))  # type: ignore[type-var]


def test_ping(accounts: Accounts) -> None:
    accounts.ping()
