"""What only the Firestore store has to get right: claims of runs too big for one commit, results
too big for one document, an unreachable database, and bootstrap choosing it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from assay import bootstrap
from assay.config import Settings
from assay.errors import Conflict, Unavailable

from tests.contract.test_store_contract import make_cases, make_run, result
from tests.support.emulators import free_port


@pytest.fixture()
def store(firestore_emulator, monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    from assay.adapters.firestore_store import FirestoreStore

    adapter = FirestoreStore(f"fs-{uuid.uuid4().hex[:12]}")
    yield adapter
    adapter.close()


def _leave_claim(store, run_id: str, expires: float, orphans: int) -> None:
    """What a process that crashed while writing a large run leaves behind."""
    run_ref = store.client.collection("test_runs").document(run_id)
    run_ref.set({"claim": {"token": "crashed", "expires": expires}})
    for i in range(1, orphans + 1):
        run_ref.collection("cases").document(f"test_case_{i}").set({"index": i, "stale": True})


@pytest.mark.emulator
def test_a_run_being_written_is_invisible_and_its_id_taken(store) -> None:
    _leave_claim(store, "run-1", time.time() + 600, orphans=2)
    assert store.get_run("run-1") is None
    assert store.list_runs() == []
    assert store.delete_run("run-1") is False
    with pytest.raises(Conflict):
        store.create_run(make_run("run-1", 3), make_cases(3))


@pytest.mark.emulator
def test_an_expired_claim_is_taken_over_and_its_leftovers_removed(store) -> None:
    _leave_claim(store, "run-1", time.time() - 1, orphans=5)
    store.create_run(make_run("run-1", 3), make_cases(3))
    run = store.get_run("run-1")
    assert run is not None and run.total == 3
    cases = store.list_cases("run-1")
    assert [(c.id, c.tracing_id) for c in cases] == [
        ("test_case_1", "trace-1"),
        ("test_case_2", "trace-2"),
        ("test_case_3", "trace-3"),
    ]


@pytest.mark.emulator
def test_a_result_over_the_document_limit_is_recorded_as_an_error(store) -> None:
    store.create_run(make_run("run-1", 1), make_cases(1))
    huge = result(response={"text": "x" * 1_200_000})
    after = store.record_result("run-1", "test_case_1", 1, huge, "Passed", "2026-01-01T00:00:00Z")
    assert after is not None and (after.done, after.errors, after.passed) == (1, 1, 0)
    assert after.status == "Completed"
    case = store.get_case("run-1", "test_case_1")
    assert case is not None and case.result is not None
    assert case.result["status"] == "Error" and "limit" in case.result["error"]
    assert case.result["status_code"] == 200


def test_an_unreachable_firestore_is_unavailable_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nobody listens
    from assay.adapters.firestore_store import FirestoreStore

    store = FirestoreStore("down", deadline_s=1.0)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        store.ping()
    with pytest.raises(Unavailable):
        store.get_run("run-1")
    with pytest.raises(Unavailable):
        store.create_run(make_run("run-1", 1), make_cases(1))
    assert time.monotonic() - started < 15
    store.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ASSAY_BACKEND": "gcp", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}, "FirestoreStore"),
        ({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}, "FirestoreStore"),
        ({}, "SQLiteStore"),
    ],
)
def test_bootstrap_builds_the_store_the_settings_ask_for(
    env: dict[str, str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ASSAY_BACKEND", "FIRESTORE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    container = bootstrap.Container(Settings(data_dir=tmp_path, project="assay-test"))
    try:
        assert type(container.store).__name__ == expected
    finally:
        container.close()
