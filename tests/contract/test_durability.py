"""Nothing is lost: a kill -9 of `assay serve` mid-run, then a restart, finishes the run with
exactly one result per case."""

import time

from tests.support.litmus import template, uid
from tests.support.server import ServeProcess, wait_run
from tests.support.sut import SUT


def test_kill_9_mid_run_then_restart_completes_exactly(tmp_path):
    data = tmp_path / "data"
    env = {"ASSAY_WORKER_CONCURRENCY": "8"}
    with SUT(delay_s=0.03) as sut:
        server = ServeProcess(data, env).start()
        api = server.client()
        items = [{"query": f"question {i}", "response": f"question {i}"} for i in range(500)]
        body = template(sut.url, items=items)
        assert api.post("/templates/add", json=body).status_code == 200
        run_id = uid("run")
        assert (
            api.post(
                "/runs/submit", json={"run_id": run_id, "template_id": body["template_id"]}
            ).status_code
            == 200
        )
        deadline = time.monotonic() + 60
        while True:
            done = int(
                api.get(f"/runs/status_fields/{run_id}").status_code == 200
                and api.get(f"/runs/status/{run_id}", params={"response_filter": "status"})
                .json()["progress"]
                .split("/")[0]
            )
            if done >= 60 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        server.kill()
        assert 0 < done < 500, f"the run should be mid-way when killed, was at {done}"

        server = ServeProcess(data, env, port=server.port).start()
        api = server.client()
        try:
            status = wait_run(api, run_id, timeout=120)
        finally:
            server.stop()
    assert status["status"] == "Completed"
    assert status["progress"] == "500/500"
    s = status["summary"]
    assert s["done"] == 500 and s["passed"] + s["failed"] + s["errors"] + s["completed"] == 500
    assert s["passed"] == 500
    cases = status["testCases"]
    assert [c["id"] for c in cases] == [f"test_case_{i}" for i in range(1, 501)]
    assert all(c["response"] and c["response"]["status"] == "Passed" for c in cases)
    # Every case reached the system under test at least once.
    tracing = {c["headers"]["X-Litmus-Request"] for c in sut.calls("/answer")}
    assert {c["tracing_id"] for c in cases} <= tracing


def test_sigterm_flushes_every_logged_call_and_exits(tmp_path, sut):
    """A stop loses no log row: deliveries stop, the log writer flushes, the process exits
    (it does not sit out a timeout, which a platform would end with SIGKILL)."""
    import duckdb

    server = ServeProcess(tmp_path / "data").start()
    api = server.client()
    body = template(sut.url, items=[{"query": f"q{i}", "response": f"q{i}"} for i in range(20)])
    api.post("/templates/add", json=body)
    run_id = uid("run")
    api.post("/runs/submit", json={"run_id": run_id, "template_id": body["template_id"]})
    status = wait_run(api, run_id)
    assert server.process is not None
    server.process.terminate()
    server.process.wait(timeout=10)  # raises if shutdown hangs
    tracing = {c["tracing_id"] for c in status["testCases"]}
    with duckdb.connect(str(tmp_path / "data" / "logs.duckdb"), read_only=True) as db:
        logged = {row[0] for row in db.execute("SELECT tracing_id FROM litmus_log").fetchall()}
    assert tracing <= logged
