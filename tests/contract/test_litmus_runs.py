"""Litmus test runs end to end over real HTTP: `assay serve`, the local queue, the worker
function, a real system under test."""

import uuid

import httpx
import pytest

from tests.support.litmus import template, uid
from tests.support.server import wait_run


@pytest.fixture()
def tpl(api, sut):
    body = template(sut.url)
    assert api.post("/templates/add", json=body).status_code == 200
    return body


def submit(api, template_id, **extra):
    run_id = uid("run")
    r = api.post("/runs/submit", json={"run_id": run_id, "template_id": template_id, **extra})
    assert r.status_code == 200, r.text
    return run_id, r.json()


def test_run_lifecycle_results_and_tracing(api, sut, tpl):
    run_id, msg = submit(api, tpl["template_id"])
    assert msg == {
        "message": f"Test Run '{run_id}' submitted successfully using template '{tpl['template_id']}'"
    }
    status = wait_run(api, run_id)
    assert status["status"] == "Completed" and status["progress"] == "2/2"
    assert status["end_time"].endswith("Z") and status["start_time"] <= status["end_time"]
    first, second = status["testCases"]
    assert [first["id"], second["id"]] == ["test_case_1", "test_case_2"]
    # The SUT echoes the query: case 1's golden answer is the query itself, case 2's is unrelated.
    assert first["response"]["status"] == "Passed"
    assert second["response"]["status"] == "Failed"
    assert first["response"]["assessment"]["llm_assessment"]["similarity"] > 0.5
    assert first["response"]["status_code"] == 200 and isinstance(
        first["response"]["latency_ms"], float
    )
    assert first["response"]["response"]["answer"] == "What is the capital of France?"
    assert first["request"]["body"] == {"query": "What is the capital of France?"}
    assert first["golden_response"] == "What is the capital of France?"
    assert status["summary"] == {
        "total": 2,
        "done": 2,
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "completed": 0,
    }
    # Each case call carried its tracing id.
    seen = {c["headers"].get("X-Litmus-Request") for c in sut.calls("/answer")}
    assert {first["tracing_id"], second["tracing_id"]} <= seen
    uuid.UUID(first["tracing_id"])


def test_status_filters(api, tpl):
    run_id, _ = submit(api, tpl["template_id"])
    wait_run(api, run_id)
    status = api.get(
        f"/runs/status/{run_id}",
        params={
            "request_filter": "body.query,headers.Missing",
            "response_filter": "status,assessment.llm_assessment.similarity,response.answer,nope[3]",
            "golden_response_filter": "x",
        },
    ).json()
    case = status["testCases"][0]
    assert case["request"] == {"body.query": "What is the capital of France?"}
    assert set(case["response"]) == {
        "status",
        "assessment.llm_assessment.similarity",
        "response.answer",
    }
    assert isinstance(case["response"]["assessment.llm_assessment.similarity"], float)
    assert case["golden_response"] == {}
    r = api.get(f"/runs/status/{run_id}", params={"response_filter": "a[x]"})
    assert r.status_code == 400 and "response_filter" in r.json()["error"]
    assert api.get(f"/runs/status/{run_id}", params={"rating": "9"}).status_code == 400
    assert api.get(f"/runs/status/{run_id}", params={"flagged": "perhaps"}).status_code == 400


def test_annotations_and_filters_on_them(api, tpl):
    run_id, _ = submit(api, tpl["template_id"])
    wait_run(api, run_id)
    r = api.put(f"/runs/{run_id}/test_case_2/flag")
    assert r.json() == {"message": "Test case 'test_case_2' flagged status updated successfully"}
    assert api.put(f"/runs/{run_id}/test_case_2/rate", json={"rating": 4}).status_code == 200
    r = api.post(f"/runs/{run_id}/test_case_2/comment", json={"comment": "looks off"})
    assert r.status_code == 201
    api.post(f"/runs/{run_id}/test_case_2/comment", json={"comment": "second"})
    flagged = api.get(f"/runs/status/{run_id}", params={"flagged": "true"}).json()["testCases"]
    assert [c["id"] for c in flagged] == ["test_case_2"]
    case = flagged[0]
    assert case["flagged"] is True and case["rating"] == 4
    assert case["comments"] == ["looks off", "second"] and case["comment_count"] == 2
    assert [
        c["id"] for c in api.get(f"/runs/status/{run_id}", params={"rating": 4}).json()["testCases"]
    ] == ["test_case_2"]
    api.put(f"/runs/{run_id}/test_case_2/flag")
    assert api.get(f"/runs/status/{run_id}", params={"flagged": "true"}).json()["testCases"] == []

    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 2.5}, {}):
        assert api.put(f"/runs/{run_id}/test_case_1/rate", json=bad).status_code == 400, bad
    assert api.post(f"/runs/{run_id}/test_case_1/comment", json={"comment": ""}).status_code == 400
    assert api.put(f"/runs/{run_id}/test_case_99/flag").status_code == 404
    assert api.put("/runs/nope/test_case_1/rate", json={"rating": 3}).status_code == 404
    assert (
        api.post(f"/runs/{run_id}/test_case_99/comment", json={"comment": "x"}).status_code == 404
    )


def test_submit_errors_change_nothing(api, tpl, sut):
    assert api.post("/runs/submit", json={"template_id": tpl["template_id"]}).status_code == 400
    r = api.post("/runs/submit", json={"run_id": uid("r"), "template_id": uid("missing")})
    assert r.status_code == 404 and "not found" in r.json()["error"]
    run_id, _ = submit(api, tpl["template_id"])
    r = api.post("/runs/submit", json={"run_id": run_id, "template_id": tpl["template_id"]})
    assert r.status_code == 409
    # A template without a test_request and a submit without one: 400, no run.
    bare = template(sut.url)
    del bare["test_request"]
    api.post("/templates/add", json=bare)
    rid = uid("r")
    r = api.post("/runs/submit", json={"run_id": rid, "template_id": bare["template_id"]})
    assert r.status_code == 400 and "test_request" in r.json()["error"]
    assert api.get(f"/runs/status/{rid}").status_code == 404
    assert api.get("/runs/status/none-such").status_code == 404
    assert api.get("/runs/status_fields/none-such").status_code == 404


def test_submit_body_overrides_template_and_auth_token_is_secret(api, sut):
    body = template(sut.url, items=[{"query": "q1", "response": "q1", "lang": "en"}])
    api.post("/templates/add", json=body)
    run_id, _ = submit(
        api,
        body["template_id"],
        test_request={
            "url": f"{sut.url}/answer",
            "method": "PUT",
            "headers": {"Authorization": "Bearer {auth_token}", "X-Lang": "{lang}"},
            "body": {"query": "{query}", "lang": "{lang}"},
        },
        auth_token="s3cret-token",
    )
    status = wait_run(api, run_id)
    call = [
        c
        for c in sut.calls("/answer")
        if c["headers"].get("X-Litmus-Request") == status["testCases"][0]["tracing_id"]
    ][0]
    assert call["method"] == "PUT" and call["headers"]["Authorization"] == "Bearer s3cret-token"
    assert call["body"] == {"query": "q1", "lang": "en"}
    everything = api.get(f"/runs/status/{run_id}").text + api.get("/runs").text
    assert "s3cret-token" not in everything


def test_blocked_items_are_skipped_and_empty_runs_complete(api, sut):
    body = template(sut.url, items=[{"query": "a", "response": "a"}, {"query": "b", "block": True}])
    api.post("/templates/add", json=body)
    run_id, _ = submit(api, body["template_id"])
    assert wait_run(api, run_id)["progress"] == "1/1"
    empty = template(sut.url, items=[])
    api.post("/templates/add", json=empty)
    run_id, _ = submit(api, empty["template_id"])
    status = api.get(f"/runs/status/{run_id}").json()
    assert status["status"] == "Completed" and status["progress"] == "0/0"


def test_without_assessment_cases_are_completed(api, sut):
    body = template(sut.url, evaluation_types={})
    api.post("/templates/add", json=body)
    run_id, _ = submit(api, body["template_id"])
    status = wait_run(api, run_id)
    assert {c["response"]["status"] for c in status["testCases"]} == {"Completed"}
    assert "assessment" not in status["testCases"][0]["response"]


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/status/500", "Failed", "HTTP 500"),
        ("/status/404", "Failed", "HTTP 404"),
        ("/html", "Failed", "non-JSON"),
        ("/close", "Error", "failed"),
        ("/sleep?s=5", "Error", "ReadTimeout"),
    ],
)
def test_faults_of_the_system_under_test(api, sut, path, status, needle):
    body = template(sut.url, items=[{"query": "x", "response": "x"}])
    body["test_request"]["url"] = f"{sut.url}{path}"
    api.post("/templates/add", json=body)
    run_id, _ = submit(api, body["template_id"])
    result = wait_run(api, run_id, timeout=60)["testCases"][0]["response"]
    assert result["status"] == status, result
    assert needle in result["error"]


def test_transient_failures_are_retried(api, sut):
    key = uid("k")
    body = template(sut.url, items=[{"query": "x", "response": "ok"}])
    body["test_request"]["url"] = f"{sut.url}/flaky?fail=2&key={key}"
    api.post("/templates/add", json=body)
    run_id, _ = submit(api, body["template_id"])
    result = wait_run(api, run_id)["testCases"][0]["response"]
    assert result["status"] == "Passed" and result["attempts"] == 3


def test_status_fields_list_and_all_results(api, tpl):
    r1, _ = submit(api, tpl["template_id"])
    wait_run(api, r1)
    r2, _ = submit(api, tpl["template_id"])
    wait_run(api, r2)
    fields = api.get(f"/runs/status_fields/{r1}").json()
    assert fields["template_id"] == tpl["template_id"] and fields["run_date"].endswith("Z")
    assert (
        fields["template_input_field"] == "body.query"
        and fields["template_output_field"] == "answer"
    )
    runs = api.get("/runs").json()["runs"]
    ids = [r["run_id"] for r in runs]
    assert ids.index(r2) < ids.index(r1)  # newest first
    results = api.get(
        f"/runs/all_results/{tpl['template_id']}",
        params={"request_filter": "body.query", "response_filter": "status"},
    ).json()
    group = results["What is the capital of France?"]
    assert [g["run_id"] for g in group] == [r1, r2]
    assert group[0]["data"] == {"status": "Passed"}
    assert api.get(f"/runs/all_results/{tpl['template_id']}").status_code == 400
    assert (
        api.get(
            f"/runs/all_results/{tpl['template_id']}", params={"request_filter": "a,b"}
        ).status_code
        == 400
    )
    assert (
        api.get(
            f"/runs/all_results/{tpl['template_id']}", params={"request_filter": "body.nothing"}
        ).json()
        == {}
    )


def test_invoke_runs_again_and_delete(api, tpl, sut):
    run_id, _ = submit(api, tpl["template_id"])
    before = wait_run(api, run_id)
    api.put(f"/runs/{run_id}/test_case_1/flag")
    r = api.post("/runs/invoke", json={"run_id": run_id, "template_id": tpl["template_id"]})
    assert r.status_code == 200
    after = wait_run(api, run_id)
    assert after["progress"] == "2/2"
    assert after["testCases"][0]["tracing_id"] != before["testCases"][0]["tracing_id"]
    assert after["start_time"] >= before["start_time"]
    assert (
        api.post(
            "/runs/invoke", json={"run_id": uid("none"), "template_id": tpl["template_id"]}
        ).status_code
        == 404
    )
    assert api.post("/runs/invoke", json={"run_id": run_id}).status_code == 400
    assert (
        api.post("/runs/invoke", json={"run_id": run_id, "template_id": "other"}).status_code == 400
    )
    assert api.delete(f"/runs/{run_id}").json() == {
        "message": f"Run '{run_id}' deleted successfully"
    }
    assert api.get(f"/runs/status/{run_id}").status_code == 404
    assert api.delete(f"/runs/{run_id}").status_code == 404


def test_test_mission_with_the_local_judge(api, sut):
    body = template(
        sut.url,
        items=[{"query": "Book a table for two", "response": "Booked"}],
        template_type="Test Mission",
        mission_duration=3,
    )
    api.post("/templates/add", json=body)
    run_id, msg = submit(api, body["template_id"])
    assert msg["message"].startswith("Test Mission")
    result = wait_run(api, run_id)["testCases"][0]["response"]
    assert result["status"] == "Passed"
    assert result["turns"] >= 1 and result["conversation"][0]["role"] == "user"
    assert "Book a table for two" in result["conversation"][0]["content"]
    assert result["assessment"]["mission_evaluation"]["overall_success"] == "Successful"


def test_disable_auth(tmp_path):
    from tests.support.server import serving

    with serving(tmp_path / "d", env={"DISABLE_AUTH": "True"}) as proc:
        assert httpx.get(f"{proc.url}/templates").status_code == 200
