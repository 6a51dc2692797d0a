"""Reading model and token usage out of provider answers, and what the proxy keeps of a body."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from assay.models.logs import LogRow
from assay.services.proxy import Proxy, ProxyConfig, _Call, split_context
from assay.services.proxy_usage import BodyCapture, read_usage


def captured(data: bytes, limit: int = 65536, encoding: str = "", piece: int = 7) -> BodyCapture:
    capture = BodyCapture(limit, encoding)
    for i in range(0, len(data), piece):  # as it streams past, in small pieces
        capture.feed(data[i : i + piece])
    return capture


def sse(*events: Any) -> bytes:
    return (
        b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    )


def openai_stream(n: int) -> bytes:
    chunks = [
        {"model": "gpt-4o-2024", "choices": [{"delta": {"content": f"w{i} "}}]} for i in range(n)
    ]
    last = {
        "model": "gpt-4o-2024",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n},
    }
    return sse(*chunks, last)


def test_openai_body() -> None:
    body = {
        "model": "gpt-4o-2024",
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    u = read_usage(
        {"model": "gpt-4o"}, "/v1/chat/completions", captured(json.dumps(body).encode()), sse=False
    )
    assert (u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens) == (
        "gpt-4o-2024",
        3,
        4,
        7,
    )


@pytest.mark.parametrize("limit", [65536, 2048], ids=["whole", "past-the-log-limit"])
def test_openai_stream_usage_in_the_last_chunk(limit: int) -> None:
    data = openai_stream(200)
    u = read_usage({"model": "gpt-4o"}, "/v1/chat/completions", captured(data, limit), sse=True)
    assert (u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens) == (
        "gpt-4o-2024",
        9,
        200,
        209,
    )


def test_openai_stream_without_include_usage_has_the_model_only() -> None:
    data = sse({"model": "gpt-x", "choices": [{"delta": {"content": "a"}}], "usage": None})
    u = read_usage({"model": "gpt-x"}, "/v1/chat/completions", captured(data), sse=True)
    assert (u.model, u.total_tokens) == ("gpt-x", None)


def test_openai_responses_api_stream() -> None:
    done = {
        "type": "response.completed",
        "response": {
            "model": "o4",
            "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11},
        },
    }
    u = read_usage({"model": "o4"}, "/v1/responses", captured(sse(done)), sse=True)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (5, 6, 11)


def gemini_chunk(text: str, prompt: int, cand: int) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"parts": [{"text": text}]}}],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": cand,
            "totalTokenCount": prompt + cand,
        },
        "modelVersion": "gemini-2.0-flash-001",
    }


def test_gemini_body_and_model_from_the_path() -> None:
    path = "/v1beta/models/gemini-2.0-flash:generateContent"
    u = read_usage(
        {"contents": []}, path, captured(json.dumps(gemini_chunk("x", 4, 2)).encode()), sse=False
    )
    assert (u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens) == (
        "gemini-2.0-flash-001",
        4,
        2,
        6,
    )
    u = read_usage({"contents": []}, path, captured(b"not json"), sse=False)
    assert (u.model, u.total_tokens) == ("gemini-2.0-flash", None)


def test_gemini_sse_takes_the_final_counts() -> None:
    data = sse(gemini_chunk("a", 4, 1), gemini_chunk("b", 4, 2), gemini_chunk("c", 4, 3))
    path = "/v1/projects/p/locations/l/publishers/google/models/gemini-pro:streamGenerateContent"
    u = read_usage({}, path + "?alt=sse", captured(data), sse=True)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (4, 3, 7)


def test_gemini_streamed_json_array() -> None:
    data = json.dumps([gemini_chunk("a", 2, 1), gemini_chunk("b", 2, 5)]).encode()
    u = read_usage({}, "/v1beta/models/g:streamGenerateContent", captured(data), sse=False)
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (2, 5, 7)


def test_gzip_body_is_kept_decoded() -> None:
    body = {"model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    raw = gzip.compress(json.dumps(body).encode())
    capture = captured(raw, encoding="gzip")
    assert capture.size == len(raw)
    assert capture.for_log() == body
    assert read_usage(None, "/", capture, sse=False).total_tokens == 2
    broken = captured(b"definitely not gzip", encoding="gzip")
    assert broken.decode_error is not None


def test_over_the_limit_is_cut_with_a_marker_and_memory_stays_bounded() -> None:
    capture = captured(b"z" * 1_000_000, limit=1000, piece=4096)
    text = capture.for_log()
    assert text == "z" * 1000 + "...[truncated 999000 bytes]"
    assert len(capture.head) == 1000 and len(capture.tail) <= 16 * 1024


@pytest.mark.parametrize(
    ("path", "context", "rest"),
    [
        (b"/litmus-context-abc-1/v1/x", "abc-1", b"/v1/x"),
        (b"/litmus-context-abc", "abc", b"/"),
        (b"/v1/litmus-context-abc/x", None, b"/v1/litmus-context-abc/x"),
        (b"/litmus-context-/x", None, b"/litmus-context-/x"),
        (b"/litmus-context-a.b/x", None, b"/litmus-context-a.b/x"),
    ],
)
def test_context_prefix(path: bytes, context: str | None, rest: bytes) -> None:
    assert split_context(path) == (context, rest)


def test_the_proxy_log_row_fits_the_log_schema() -> None:
    rows: list[dict[str, Any]] = []

    class Sink:
        def submit(self, table: str, row: dict[str, Any]) -> None:
            rows.append(row)

    proxy = Proxy(ProxyConfig("http://127.0.0.1:9"), Sink())
    call = _Call(proxy, "2026-03-23T10:00:00.000Z", 0.0, "POST", b"/v1/x?a=1", [], "ctx")
    call.headers.append((b"x-litmus-request", b"trace"))
    call.response_headers([(b"content-type", b"application/json")])
    call.captured.feed(b'{"model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}')
    call.finish(bytearray(b'{"model": "m"}'), 200, None)
    call = _Call(
        proxy,
        "2026-03-23T10:00:00.000Z",
        0.0,
        "POST",
        b"/v1/models/g:streamGenerateContent",
        [],
        "c",
    )
    call.headers.append((b"x-litmus-request", b"trace"))
    call.response_headers([(b"content-type", b"application/json")])
    call.captured.feed(b"[]")
    call.finish(bytearray(), 200, None)
    row, gemini_array = rows
    assert row["streamed"] is False and gemini_array["streamed"] is True
    assert set(row) == set(LogRow.model_fields)
    assert LogRow.model_validate(row).model_dump(mode="json") == row
    assert (row["total_tokens"], row["request_uri"], row["tracing_id"]) == (3, "/v1/x?a=1", "trace")
