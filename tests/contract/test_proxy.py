"""The LLM proxy over real HTTP: `assay serve` starts it in front of real upstream servers; what a
client sees is compared with what the upstream sent, and every call is read back from /proxy/*."""

from __future__ import annotations

import gzip
import json
import socket
import time
import uuid

import httpx
import pytest

from tests.support.proxying import PROXY_TIMEOUT_S, ProxyStack, today
from tests.support.raw_upstream import USAGE, RawUpstream, completion


def ctx() -> str:
    return f"ctx-{uuid.uuid4().hex[:12]}"


def test_plain_call_arrives_as_sent_and_is_logged(proxies: ProxyStack) -> None:
    body = {"model": "gpt-plain", "messages": [{"role": "user", "content": "hi"}]}
    direct = httpx.post(f"{proxies.raw.url}/v1/chat/completions", json=body)
    context = ctx()
    r = httpx.post(f"{proxies.url('raw')}/litmus-context-{context}/v1/chat/completions", json=body)
    assert r.status_code == direct.status_code == 200
    assert r.json() == direct.json() == completion("gpt-plain")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == direct.headers["content-length"]
    [row] = proxies.rows(context)
    assert row["litmusContext"] == context
    assert row["tracingID"] == r.headers["x-litmus-request"]
    assert row["method"] == "POST"
    assert row["requestURI"] == "/v1/chat/completions"
    assert row["upstreamURL"] == f"{proxies.raw.url}/v1/chat/completions"
    assert row["requestBody"] == body
    assert row["responseBody"] == completion("gpt-plain")
    assert row["responseStatus"] == 200
    assert row["model"] == "gpt-plain"
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (7, 3, 10)
    assert row["streamed"] is False and row["error"] is None
    assert 0 < row["timeToFirstByte"] <= row["latency"]
    assert row["requestSize"] == len(r.request.content)
    assert row["responseSize"] == int(r.headers["content-length"])
    assert row["timestamp"].startswith(today()) and row["timestamp"].endswith("Z")


def test_context_prefix_is_stripped_and_trace_header_passed_on(proxies: ProxyStack) -> None:
    context = ctx()
    r = httpx.get(
        f"{proxies.url('raw')}/litmus-context-{context}/echo?a=1&b=two",
        headers={"X-Litmus-Request": "trace-123", "X-Custom": "kept"},
    )
    seen = r.json()
    assert seen["target"] == "/echo?a=1&b=two"
    assert seen["headers"]["x-litmus-request"] == "trace-123"
    assert seen["headers"]["x-custom"] == "kept"
    assert seen["headers"]["host"] == proxies.raw.url.removeprefix("http://")
    assert r.headers["x-litmus-request"] == "trace-123"
    [row] = proxies.rows(context)
    assert row["tracingID"] == "trace-123"
    # Without a context prefix the trace id is the context (what test-run cases carry).
    r = httpx.get(f"{proxies.url('raw')}/echo", headers={"X-Litmus-Request": context + "-t"})
    assert proxies.rows(context + "-t")[0]["requestURI"] == "/echo"
    # Without either, one is generated and passed on.
    generated = httpx.get(f"{proxies.url('raw')}/echo").json()["headers"]["x-litmus-request"]
    assert len(generated) >= 32


def test_stream_arrives_chunk_by_chunk_with_usage_logged(proxies: ProxyStack) -> None:
    context = ctx()
    body = {
        "model": "gpt-stream",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    url = f"{proxies.url('raw')}/litmus-context-{context}/v1/chat/completions?chunks=5&delay=0.2"
    arrivals: list[float] = []
    events: list[bytes] = []
    start = time.monotonic()
    with httpx.stream("POST", url, json=body) as r:
        assert r.headers["content-type"] == "text/event-stream"
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - start)
                events.append(line.encode())
    assert len(events) == 7 and events[-1] == b"data: [DONE]"  # 5 deltas, usage, [DONE]
    assert arrivals[0] < 0.15, "the first event must not wait for the rest"
    assert arrivals[4] - arrivals[0] > 0.6, "events arrive as the upstream sends them"
    [row] = proxies.rows(context)
    assert row["streamed"] is True and row["error"] is None
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (7, 3, 10)
    assert row["model"] == "gpt-stream"
    assert row["timeToFirstByte"] < 150 < row["latency"]
    assert "data: [DONE]" in row["responseBody"]


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_upstream_status_and_body_pass_through(proxies: ProxyStack, status: int) -> None:
    context = ctx()
    r = httpx.post(f"{proxies.url('raw')}/litmus-context-{context}/status/{status}", json={})
    assert r.status_code == status
    assert r.json()["error"]["message"] == f"status {status}"
    [row] = proxies.rows(context)
    assert row["responseStatus"] == status


def test_upstream_refusing_is_a_502_and_logged(proxies: ProxyStack) -> None:
    context = ctx()
    r = httpx.post(f"{proxies.url('refused')}/litmus-context-{context}/v1/x", json={})
    assert r.status_code == 502
    assert "cannot connect" in r.json()["error"]["message"]
    [row] = proxies.rows(context)
    assert row["responseStatus"] == 502 and "cannot connect" in row["error"]


def test_upstream_timing_out_is_a_504_and_logged(proxies: ProxyStack) -> None:
    context = ctx()
    started = time.monotonic()
    r = httpx.get(f"{proxies.url('raw')}/litmus-context-{context}/hang", timeout=30)
    assert r.status_code == 504
    assert PROXY_TIMEOUT_S <= time.monotonic() - started < PROXY_TIMEOUT_S + 5
    [row] = proxies.rows(context)
    assert row["responseStatus"] == 504 and "within" in row["error"]


def test_upstream_dropping_mid_stream_cuts_the_client_stream(proxies: ProxyStack) -> None:
    context = ctx()
    got: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("GET", f"{proxies.url('raw')}/litmus-context-{context}/drop") as r,
    ):
        for line in r.iter_lines():
            if line:
                got.append(line)
    assert len(got) == 3, "what the upstream sent before it dropped still arrives"
    [row] = proxies.rows(context)
    assert row["responseStatus"] == 200
    assert "closed the connection" in row["error"]
    assert row["streamed"] is True


def test_gzip_response_arrives_encoded_and_is_logged_decoded(proxies: ProxyStack) -> None:
    context = ctx()
    url = f"{proxies.url('raw')}/litmus-context-{context}/gzip"
    with httpx.stream("GET", url, headers={"accept-encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw)) == completion()
    assert httpx.get(url).json() == completion()  # a client that decodes sees the answer
    row = proxies.rows(context, count=2)[0]
    assert row["responseBody"] == completion()
    assert row["totalTokens"] == USAGE["total_tokens"]
    assert row["responseSize"] == len(raw)


def test_very_large_bodies_pass_whole_and_are_cut_in_the_log(proxies: ProxyStack) -> None:
    context = ctx()
    big = b"y" * (5 * 1024 * 1024)
    r = httpx.post(f"{proxies.url('raw')}/litmus-context-{context}/echo", content=big)
    assert r.json()["size"] == len(big)
    r = httpx.get(f"{proxies.url('raw')}/litmus-context-{context}/big?n={3 * 1024 * 1024}")
    assert len(r.content) == 3 * 1024 * 1024
    rows = proxies.rows(context, count=2)
    by_uri = {row["requestURI"].split("?")[0]: row for row in rows}
    echo, large = by_uri["/echo"], by_uri["/big"]
    assert echo["requestSize"] == len(big)
    assert echo["requestBody"].endswith(f"...[truncated {len(big) - 65536} bytes]")
    assert large["responseSize"] == 3 * 1024 * 1024
    assert large["responseBody"].endswith(f"...[truncated {3 * 1024 * 1024 - 65536} bytes]")


def test_only_the_configured_upstream_is_ever_reached(proxies: ProxyStack) -> None:
    with RawUpstream() as other:
        host, port = "127.0.0.1", int(proxies.url("raw").rsplit(":", 1)[1])
        requests = [
            f"GET {other.url}/echo HTTP/1.1\r\nHost: 127.0.0.1:{other.port}\r\n\r\n",
            f"GET //127.0.0.1:{other.port}/echo HTTP/1.1\r\nHost: x\r\n\r\n",
            f"CONNECT 127.0.0.1:{other.port} HTTP/1.1\r\nHost: 127.0.0.1:{other.port}\r\n\r\n",
        ]
        answers = []
        for raw_request in requests:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(raw_request.encode())
                answers.append(s.recv(65536).split(b"\r\n", 1)[0])
        assert sum(other.hits.values()) == 0, "nothing may reach another server"
    assert answers[0].startswith(b"HTTP/1.1 200") and answers[1].startswith(b"HTTP/1.1 200")
    assert not answers[2].startswith(b"HTTP/1.1 200")


def test_credentials_reach_the_upstream_but_never_the_log(proxies: ProxyStack) -> None:
    context = ctx()
    secrets = {
        "Authorization": "Bearer sk-very-secret",
        "X-Api-Key": "key-very-secret",
        "x-goog-api-key": "goog-very-secret",
        "Cookie": "session=very-secret",
    }
    r = httpx.get(f"{proxies.url('raw')}/litmus-context-{context}/echo", headers=secrets)
    assert r.json()["headers"]["authorization"] == "Bearer sk-very-secret"
    [row] = proxies.rows(context)
    assert "very-secret" not in json.dumps(row["requestHeaders"])
    assert row["requestHeaders"]["authorization"] == "[REDACTED]"
    assert row["requestHeaders"]["x_goog_api_key"] == "[REDACTED]"


def test_connections_to_the_upstream_are_kept_alive(proxies: ProxyStack) -> None:
    before = proxies.raw.connections
    with httpx.Client() as client:
        for _ in range(20):
            r = client.post(f"{proxies.url('raw')}/v1/chat/completions", json={"model": "m"})
            assert r.status_code == 200
    assert proxies.raw.connections - before <= 2


def test_a_request_body_over_the_limit_is_refused_and_not_forwarded(proxies: ProxyStack) -> None:
    context = ctx()
    before = proxies.raw.hits["/echo"]
    r = httpx.post(f"{proxies.url('raw')}/litmus-context-{context}/echo", content=b"z" * (11 << 20))
    assert r.status_code == 413
    assert proxies.raw.hits["/echo"] == before
    [row] = proxies.rows(context)
    assert row["responseStatus"] == 413 and row["requestSize"] > 8 << 20


def test_hop_by_hop_headers_end_at_the_proxy(proxies: ProxyStack) -> None:
    port = int(proxies.url("raw").rsplit(":", 1)[1])
    request = (
        "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-End-To-End: 2\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            data += s.recv(65536)
    seen = json.loads(data.split(b"\r\n\r\n", 1)[1])["headers"]
    assert seen["x-end-to-end"] == "2"
    assert not {"x-hop", "keep-alive", "te", "connection"} & set(seen)


def test_odd_json_is_logged_and_does_not_block_other_rows(proxies: ProxyStack) -> None:
    context = ctx()
    url = f"{proxies.url('raw')}/litmus-context-{context}/echo"
    odd = b'{"model": "odd", "half_emoji": "\\ud83d", "x": NaN, "y": -Infinity}'
    assert httpx.post(url, content=odd).json()["size"] == len(odd)
    assert httpx.post(url, json={"model": "plain"}).status_code == 200
    rows = {r["requestBody"]["model"]: r for r in proxies.rows(context, count=2)}
    assert set(rows) == {"odd", "plain"}
    assert rows["odd"]["requestBody"]["x"] == "nan"
    assert rows["odd"]["requestBody"]["half_emoji"].startswith("\ufffd")
