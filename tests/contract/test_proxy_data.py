"""/proxy/data, /proxy/litmus_data, /proxy/agg and /proxy/list_services over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.litmus import template, uid
from tests.support.proxying import ProxyStack, today
from tests.support.server import wait_run
from tests.support.sut import SUT


def chat(proxies: ProxyStack, context: str, model: str = "gpt-agg", **headers: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    url = f"{proxies.url('raw')}/litmus-context-{context}/v1/chat/completions"
    assert httpx.post(url, json=body, headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/proxy/data", "/proxy/litmus_data", "/proxy/agg"])
@pytest.mark.parametrize("date", [None, "", "yesterday", "2026-13-01", "2026-02-30", "2026-0101"])
def test_missing_or_invalid_date_is_a_400(proxies: ProxyStack, path: str, date: str | None) -> None:
    params = {} if date is None else {"date": date}
    with proxies.client() as api:
        r = api.get(path, params=params)
    assert r.status_code == 400
    assert "date" in r.json()["error"]


def test_both_date_forms_and_auth(proxies: ProxyStack) -> None:
    context = f"dates-{uuid.uuid4().hex[:8]}"
    chat(proxies, context)
    rows = proxies.rows(context)
    compact = proxies.rows(context, date=today().replace("-", ""))
    assert rows == compact and len(rows) == 1
    r = httpx.get(f"{proxies.serve.url}/proxy/data", params={"date": today()})
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}


def test_a_context_with_quotes_or_sql_is_just_a_value(proxies: ProxyStack) -> None:
    nasty = f"x' OR '1'='1'; DROP TABLE proxy_log; -- \"{uuid.uuid4().hex[:6]}"
    r = httpx.get(f"{proxies.url('raw')}/echo", headers={"X-Litmus-Request": nasty})
    assert r.status_code == 200
    [row] = proxies.rows(nasty)
    assert row["litmusContext"] == row["tracingID"] == nasty
    with proxies.client() as api:
        for probe in ("x' OR '1'='1", "' OR 1=1 --", '" OR ""="'):
            assert api.get("/proxy/data", params={"date": today(), "context": probe}).json() == []
        assert api.get("/proxy/agg", params={"date": today(), "context": nasty}).json() != []
    assert len(proxies.rows(nasty)) == 1, "the table is still there"


def test_flatten_joins_nested_keys(proxies: ProxyStack) -> None:
    context = f"flat-{uuid.uuid4().hex[:8]}"
    chat(proxies, context, **{"User-Agent": "flat-agent/1.0"})
    [row] = proxies.rows(context, flatten="true")
    assert row["requestHeaders_user_agent"] == "flat-agent/1.0"
    assert row["responseBody_choices_0_message_content"] == "hello there"
    assert row["requestBody_messages_0_role"] == "user"
    assert row["litmusContext"] == context
    assert not any(isinstance(v, dict | list) for v in row.values())


def test_agg_sums_tokens_and_averages_latency_per_context(proxies: ProxyStack) -> None:
    context = f"agg-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        chat(proxies, context)
    chat(proxies, context, **{"x-goog-request-params": "model=gemini-x"})
    rows = proxies.rows(context, count=4)
    with proxies.client() as api:
        agg = api.get("/proxy/agg", params={"date": today(), "context": context}).json()
    assert {a["requestheaders_x_goog_request_params"] for a in agg} == {None, "model=gemini-x"}
    plain = next(a for a in agg if a["requestheaders_x_goog_request_params"] is None)
    assert plain["litmuscontext"] == context
    assert plain["total_token_count"] == 30
    assert plain["prompt_token_count"] == 21
    assert plain["candidates_token_count"] == 9
    latencies = [r["latency"] for r in rows if "x_goog_request_params" not in r["requestHeaders"]]
    assert plain["average_latency"] == pytest.approx(sum(latencies) / 3, abs=0.01)
    with proxies.client() as api:
        everything = api.get("/proxy/agg", params={"date": today()}).json()
    assert {a["litmuscontext"] for a in everything} >= {context}


def test_litmus_data_serves_the_worker_calls_of_a_case(proxies: ProxyStack, sut: SUT) -> None:
    body = template(sut.url, items=[{"query": "q-litmus-data", "response": "q-litmus-data"}])
    body["evaluation_types"] = {}
    run_id = uid("run")
    with proxies.client() as api:
        assert api.post("/templates/add", json=body).status_code == 200
        r = api.post(
            "/runs/submit_simple", json={"run_id": run_id, "template_id": body["template_id"]}
        )
        assert r.status_code == 200, r.text
        status = wait_run(api, run_id)
    tracing_id = status["testCases"][0]["tracing_id"]
    [row] = proxies.rows(tracing_id, path="/proxy/litmus_data")
    assert row["tracingID"] == tracing_id
    assert row["requestURI"] == f"{sut.url}/answer"
    assert row["responseStatus"] == 200
    assert row["requestBody"] == {"query": "q-litmus-data"}
    [flat] = proxies.rows(tracing_id, path="/proxy/litmus_data", flatten="true")
    assert flat["requestHeaders_x_litmus_request"] == tracing_id


def test_list_services_lists_the_local_proxies(proxies: ProxyStack) -> None:
    with proxies.client() as api:
        r = api.get("/proxy/list_services")
    assert r.status_code == 200
    services = {s["name"]: s for s in r.json()["proxy_services"]}
    assert set(services) == {f"assay-proxy-{name}" for name in proxies.upstreams}
    for name in proxies.upstreams:
        service = services[f"assay-proxy-{name}"]
        assert service["uri"] == proxies.url(name)
        assert service["created"].endswith("Z") and service["region"] == "local"


def test_limit_and_flatten_are_checked(proxies: ProxyStack) -> None:
    context = f"limit-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        chat(proxies, context)
    rows = proxies.rows(context, count=3)
    assert len(proxies.rows(context, limit="2")) == 2
    assert proxies.rows(context, limit="2") == rows[:2], "oldest first"
    with proxies.client() as api:
        for bad in ({"limit": "0"}, {"limit": "10001"}, {"limit": "x"}, {"flatten": "maybe"}):
            r = api.get("/proxy/data", params={"date": today(), "context": context, **bad})
            assert r.status_code == 400, bad
            assert next(iter(bad)) in r.json()["error"]
