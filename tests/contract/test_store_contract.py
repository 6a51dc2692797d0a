"""One contract for the store port, run against every adapter: SQLite (embedded) and Firestore
(the real emulator). What one adapter does, the other must do the same way."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from assay.adapters.store import Store
from assay.errors import Conflict, NotFound
from assay.models.litmus import Case, Run, Template

T0 = "2026-03-23T10:00:00.000Z"


@pytest.fixture(
    params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulator)],
)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    if request.param == "sqlite":
        from assay.adapters.sqlite_store import SQLiteStore

        adapter: Store = SQLiteStore(tmp_path / "store.db")
    else:
        emulator = request.getfixturevalue("firestore_emulator")
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
        from assay.adapters.firestore_store import FirestoreStore

        # A project of its own per test: the emulator keeps projects apart.
        adapter = FirestoreStore(f"contract-{uuid.uuid4().hex[:12]}")
    yield adapter
    adapter.close()


def make_template(template_id: str, template_type: str = "Test Run", **extra: Any) -> Template:
    fields: dict[str, Any] = {
        "template_id": template_id,
        "template_type": template_type,
        "template_data": [{"query": "q", "response": "a"}],
        "test_request": {"url": "http://sut/answer", "body": {"query": "{query}"}},
        **extra,
    }
    if template_type == "Test Mission":
        fields.setdefault("mission_duration", 3)
    return Template.model_validate(fields)


def make_run(run_id: str, n: int, start_time: str = T0, template_id: str = "tpl") -> Run:
    return Run(
        run_id=run_id,
        template_id=template_id,
        total=n,
        start_time=start_time,
        auth_token="secret-token",
        evaluation_types={"llm_assessment": True, "deepeval": ["faithfulness"]},
    )


def make_cases(n: int, tag: str = "") -> list[Case]:
    return [
        Case(
            id=f"test_case_{i}",
            index=i,
            request={"url": "http://sut/answer", "body": {"query": f"q{i}{tag}", "n": i}},
            golden_response=f"a{i}",
            tracing_id=f"trace-{i}{tag}",
        )
        for i in range(1, n + 1)
    ]


def result(status: str = "Passed", **extra: Any) -> dict[str, Any]:
    return {"status": status, "status_code": 200, "latency_ms": 12.5, **extra}


def new_run(store: Store, n: int, run_id: str = "run-1", **kw: Any) -> Run:
    run = make_run(run_id, n, **kw)
    store.create_run(run, make_cases(n))
    return run


# -- templates -----------------------------------------------------------------------------
def test_template_add_get_conflict_and_typed_round_trip(store: Store) -> None:
    awkward = {
        "query": "q",
        "response": "a",
        "matrix": [[1, 2], [3, [4.5, True]]],
        "keys": {"": 1, "~tilde": 2, "__reserved__": 3, "a.b": None, "~list": [[]]},
        "huge": 2**70,
        "deep": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {}}}}}}}}}}}},
        "flag": False,
    }
    nested: Any = [0]
    for _ in range(25):
        nested = {"level": nested}
    awkward["deeper"] = nested
    tpl = make_template("tpl-1", template_data=[awkward, {"query": "q2", "block": True}])
    store.add_template(tpl)
    got = store.get_template("tpl-1")
    assert got is not None
    assert got.template_data == tpl.template_data
    assert got.template_data[0]["huge"] == 2**70
    assert got.test_request is not None and got.test_request.body == {"query": "{query}"}
    assert store.get_template("missing") is None
    with pytest.raises(Conflict):
        store.add_template(make_template("tpl-1", template_data=[]))
    assert store.get_template("tpl-1") == got  # the conflicting add changed nothing


def test_template_update_delete_and_list(store: Store) -> None:
    for tid, kind in [("b", "Test Run"), ("a", "Test Mission"), ("c", "Test Run")]:
        store.add_template(make_template(tid, kind))
    updated = store.update_template("b", {"template_llm_prompt": "judge", "updated_at": T0})
    assert updated.template_llm_prompt == "judge"
    got = store.get_template("b")
    assert got is not None and got.template_llm_prompt == "judge" and got.updated_at == T0
    assert got.template_data == [{"query": "q", "response": "a"}]  # other fields kept
    with pytest.raises(NotFound):
        store.update_template("nope", {"template_llm_prompt": "x"})

    assert [t.template_id for t in store.list_templates()] == ["a", "b", "c"]
    assert [t.template_id for t in store.list_templates("Test Run")] == ["b", "c"]
    assert [t.template_id for t in store.list_templates("Test Mission")] == ["a"]
    assert store.delete_template("b") is True
    assert store.delete_template("b") is False
    assert [t.template_id for t in store.list_templates()] == ["a", "c"]


# -- runs ------------------------------------------------------------------------------------
def test_create_run_conflict_not_found_and_typed_fields(store: Store) -> None:
    assert store.get_run("run-1") is None
    run = new_run(store, 3)
    got = store.get_run("run-1")
    assert got is not None
    assert got.model_dump() == run.model_dump()
    assert got.auth_token == "secret-token"
    assert got.progress == "0/3" and got.status == "Not Started"
    with pytest.raises(Conflict):
        store.create_run(make_run("run-1", 1), make_cases(1, tag="-other"))
    # The conflicting create changed nothing: neither the run nor its cases.
    assert store.get_run("run-1") == got
    assert [c.tracing_id for c in store.list_cases("run-1")] == ["trace-1", "trace-2", "trace-3"]
    case = store.get_case("run-1", "test_case_2")
    assert case is not None and case.request == {
        "url": "http://sut/answer",
        "body": {"query": "q2", "n": 2},
    }
    assert case.generation == 1 and case.result is None and case.flagged is False
    assert store.get_case("run-1", "test_case_9") is None
    assert store.get_case("nope", "test_case_1") is None
    assert store.list_cases("nope") == []


def test_list_runs_newest_first_and_by_template(store: Store) -> None:
    new_run(store, 1, "old", start_time="2026-01-01T00:00:00.000Z", template_id="t1")
    new_run(store, 1, "new", start_time="2026-03-01T00:00:00.000Z", template_id="t2")
    new_run(store, 1, "mid", start_time="2026-02-01T00:00:00.000Z", template_id="t1")
    assert [r.run_id for r in store.list_runs()] == ["new", "mid", "old"]
    assert [r.run_id for r in store.list_runs("t1")] == ["mid", "old"]
    assert store.list_runs("t9") == []


def test_cases_in_numeric_order_and_filters(store: Store) -> None:
    new_run(store, 12)
    ids = [c.id for c in store.list_cases("run-1")]
    assert ids == [f"test_case_{i}" for i in range(1, 13)]  # test_case_2 before test_case_10
    assert store.toggle_flag("run-1", "test_case_10") is True
    assert store.toggle_flag("run-1", "test_case_2") is True
    store.set_rating("run-1", "test_case_10", 4)
    store.set_rating("run-1", "test_case_3", 4)
    store.set_rating("run-1", "test_case_2", 1)
    assert [c.id for c in store.list_cases("run-1", flagged=True)] == [
        "test_case_2",
        "test_case_10",
    ]
    assert len(store.list_cases("run-1", flagged=False)) == 10
    assert [c.id for c in store.list_cases("run-1", rating=4)] == ["test_case_3", "test_case_10"]
    assert [c.id for c in store.list_cases("run-1", flagged=True, rating=4)] == ["test_case_10"]
    assert store.list_cases("run-1", rating=5) == []


# -- results ---------------------------------------------------------------------------------
def test_record_result_counts_once_and_completes_the_run(store: Store) -> None:
    new_run(store, 3)
    store.mark_running("run-1", 1)
    first = result(response={"answer": "x", "scores": [[0.1, 2]]}, similarity=0.75, ok=True)
    after = store.record_result("run-1", "test_case_1", 1, first, "Passed", "2026-03-23T10:00:01Z")
    assert after is not None and after.done == 1 and after.passed == 1
    assert after.status == "Running" and after.end_time is None
    # The same result again (a redelivered message), and a wrong generation: ignored.
    assert store.record_result("run-1", "test_case_1", 1, result("Failed"), "Failed", T0) is None
    assert store.record_result("run-1", "test_case_2", 2, result(), "Passed", T0) is None
    assert store.record_result("run-1", "test_case_9", 1, result(), "Passed", T0) is None
    run = store.get_run("run-1")
    assert run is not None and (run.done, run.passed, run.failed) == (1, 1, 0)
    stored = store.get_case("run-1", "test_case_1")
    assert stored is not None and stored.result == first  # typed: ints, floats, bools, lists
    assert isinstance(stored.result["status_code"], int)

    store.record_result("run-1", "test_case_2", 1, result("Error"), "Error", T0)
    last = store.record_result(
        "run-1", "test_case_3", 1, result("Completed"), "Completed", "2026-03-23T10:00:09.000Z"
    )
    assert last is not None and last.status == "Completed"
    run = store.get_run("run-1")
    assert run is not None
    assert (run.done, run.total, run.passed, run.failed, run.errors, run.completed) == (
        3,
        3,
        1,
        0,
        1,
        1,
    )
    assert run.status == "Completed" and run.end_time == "2026-03-23T10:00:09.000Z"
    assert run.progress == "3/3"


def test_first_result_starts_a_run_that_was_never_marked_running(store: Store) -> None:
    new_run(store, 2)
    after = store.record_result("run-1", "test_case_1", 1, result(), "Passed", T0)
    assert after is not None and after.status == "Running"


def test_mark_running_and_fail_run(store: Store) -> None:
    new_run(store, 2)
    store.mark_running("run-1", 2)  # another generation: left alone
    run = store.get_run("run-1")
    assert run is not None and run.status == "Not Started"
    store.mark_running("run-1", 1)
    run = store.get_run("run-1")
    assert run is not None and run.status == "Running"
    store.fail_run("run-1", "could not queue", "2026-03-23T10:00:05.000Z")
    run = store.get_run("run-1")
    assert run is not None and run.status == "Failed" and run.error == "could not queue"
    assert run.end_time == "2026-03-23T10:00:05.000Z"
    store.mark_running("run-1", 1)
    for n in (1, 2):
        store.record_result("run-1", f"test_case_{n}", 1, result(), "Passed", T0)
    run = store.get_run("run-1")
    assert run is not None and run.status == "Failed" and run.done == 2  # failed stays failed
    store.fail_run("nope", "x", T0)  # nothing to fail: no error, nothing created
    assert store.get_run("nope") is None


def test_restart_run_bumps_generation_and_ignores_the_old_one(store: Store) -> None:
    new_run(store, 2)
    for n in (1, 2):
        store.record_result("run-1", f"test_case_{n}", 1, result(), "Passed", T0)
    store.toggle_flag("run-1", "test_case_1")
    fresh = [c.model_copy(update={"result": None}) for c in make_cases(2, tag="-g2")]
    run = store.restart_run("run-1", fresh, "2026-03-24T00:00:00.000Z")
    assert (run.generation, run.status, run.done, run.passed, run.end_time) == (
        2,
        "Not Started",
        0,
        0,
        None,
    )
    stored = store.get_run("run-1")
    assert stored is not None and stored.model_dump() == run.model_dump()
    assert stored.start_time == "2026-03-24T00:00:00.000Z" and stored.auth_token == "secret-token"
    cases = store.list_cases("run-1")
    assert [(c.generation, c.result, c.tracing_id) for c in cases] == [
        (2, None, "trace-1-g2"),
        (2, None, "trace-2-g2"),
    ]
    # A late message of generation 1 is ignored; generation 2 counts.
    assert store.record_result("run-1", "test_case_1", 1, result(), "Passed", T0) is None
    store.record_result("run-1", "test_case_1", 2, result("Failed"), "Failed", T0)
    stored = store.get_run("run-1")
    assert stored is not None and (stored.done, stored.failed, stored.passed) == (1, 1, 0)
    with pytest.raises(NotFound):
        store.restart_run("nope", fresh, T0)


def test_restart_with_fewer_cases_drops_the_others(store: Store) -> None:
    new_run(store, 3)
    run = store.restart_run("run-1", make_cases(1), T0)
    assert run.total == 1
    assert [c.id for c in store.list_cases("run-1")] == ["test_case_1"]


# -- annotations -----------------------------------------------------------------------------
def test_flag_rating_and_comments(store: Store) -> None:
    new_run(store, 2)
    assert store.toggle_flag("run-1", "test_case_1") is True
    assert store.toggle_flag("run-1", "test_case_1") is False
    store.set_rating("run-1", "test_case_1", 5)
    for text in ("first", "second", "first"):
        store.add_comment("run-1", "test_case_1", text)
    case = store.get_case("run-1", "test_case_1")
    assert case is not None
    assert (case.flagged, case.rating, case.comments) == (False, 5, ["first", "second", "first"])
    for call in (
        lambda: store.toggle_flag("run-1", "test_case_7"),
        lambda: store.set_rating("run-1", "test_case_7", 3),
        lambda: store.add_comment("run-1", "test_case_7", "x"),
        lambda: store.toggle_flag("nope", "test_case_1"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.get_case("run-1", "test_case_7") is None  # NotFound created nothing


# -- delete ----------------------------------------------------------------------------------
def test_delete_run_removes_its_cases(store: Store) -> None:
    new_run(store, 3)
    new_run(store, 1, "run-2")
    assert store.delete_run("run-1") is True
    assert store.get_run("run-1") is None
    assert store.list_cases("run-1") == []
    assert store.get_case("run-1", "test_case_1") is None
    assert store.delete_run("run-1") is False
    assert [r.run_id for r in store.list_runs()] == ["run-2"]
    new_run(store, 2)  # the id is free again
    assert [c.id for c in store.list_cases("run-1")] == ["test_case_1", "test_case_2"]


# -- scale -----------------------------------------------------------------------------------
def test_a_600_case_run_crosses_the_batch_limit(store: Store) -> None:
    new_run(store, 600)
    cases = store.list_cases("run-1")
    assert [c.index for c in cases] == list(range(1, 601))
    with pytest.raises(Conflict):
        store.create_run(make_run("run-1", 600), make_cases(600, tag="-other"))
    assert store.get_case("run-1", "test_case_600").tracing_id == "trace-600"
    run = store.restart_run("run-1", make_cases(600, tag="-g2"), T0)
    assert run.generation == 2
    assert {c.generation for c in store.list_cases("run-1")} == {2}
    assert store.delete_run("run-1") is True
    assert store.list_cases("run-1") == []
    assert store.get_run("run-1") is None


def test_concurrent_results_give_exact_counters(store: Store) -> None:
    n = 48
    new_run(store, n)
    outcomes = ["Passed", "Failed", "Error", "Completed"]
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        barrier.wait()
        try:
            for i in range(worker + 1, n + 1, 16):
                outcome = outcomes[i % 4]
                # Each case twice: the duplicate must not count.
                for _ in range(2):
                    store.record_result(
                        "run-1",
                        f"test_case_{i}",
                        1,
                        result(outcome),
                        outcome,
                        T0,
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    run = store.get_run("run-1")
    assert run is not None
    assert (run.done, run.passed, run.failed, run.errors, run.completed) == (n, 12, 12, 12, 12)
    assert run.status == "Completed" and run.end_time == T0
    assert all(c.final for c in store.list_cases("run-1"))


def test_ping(store: Store) -> None:
    store.ping()
