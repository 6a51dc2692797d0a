"""The LLM proxy: an ASGI application that forwards every call to its one upstream and streams
the answer back as it comes, then logs the call (off the request path, through the LogWriter).

Only the configured upstream is ever contacted: the request target is always taken as a path
on that origin, whatever the request line or Host header say (never an open proxy).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from assay.services.proxy_upstream import Headers, UpstreamError, UpstreamPool
from assay.services.proxy_usage import BodyCapture, read_usage, truncated
from assay.timeutil import now_iso

if TYPE_CHECKING:  # pydantic is imported on the first call, not at cold start
    from assay.models.logs import LogRow, LogTable

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_CONTEXT = re.compile(rb"^/litmus-context-([A-Za-z0-9_-]+)(?=/|$)")
TRACE_HEADER = b"x-litmus-request"
# Connection-level headers (RFC 9110 7.6.1) end at each hop; host and content-length are set for
# the upstream connection; function-execution-id is added by functions-framework, not the client.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
        b"host",
        b"content-length",
        b"function-execution-id",
    }
)
_RESPONSE_DROP = _HOP_BY_HOP - {b"content-length"}


class LogSink(Protocol):
    def submit(self, table: LogTable, row: LogRow | dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str
    log_body_limit: int = 64 * 1024
    log_secrets: bool = False
    max_body_bytes: int = 10 * 1024 * 1024
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 600.0


def _named_by_connection(headers: Headers) -> frozenset[bytes]:
    """Headers a `Connection` header names are hop-by-hop too (RFC 9110 7.6.1)."""
    return frozenset(
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    )


def split_context(path: bytes) -> tuple[str | None, bytes]:
    """`/litmus-context-abc/v1/x` -> ("abc", `/v1/x`)."""
    match = _CONTEXT.match(path)
    if match is None:
        return None, path
    return match.group(1).decode(), path[match.end() :] or b"/"


def _log_headers(headers: Headers, keep_secrets: bool) -> dict[str, str]:
    """Header names as the log shows them: lower case, `-` as `_` (`x_goog_request_params`)."""
    from assay.models.logs import redact_headers

    named = {k.decode("latin-1").lower().replace("-", "_"): v.decode("latin-1") for k, v in headers}
    return redact_headers(named, keep_secrets)


async def _answer(send: Send, status: int, message: str, trace: bytes) -> None:
    body = json.dumps({"error": {"message": message, "type": "proxy_error", "code": status}})
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (TRACE_HEADER, trace),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class Proxy:
    def __init__(self, config: ProxyConfig, log: LogSink) -> None:
        self.config = config
        self.log = log
        self.pool = UpstreamPool(
            config.upstream,
            connect_timeout=config.connect_timeout_s,
            read_timeout=config.read_timeout_s,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        stamp = now_iso()
        method: str = scope["method"]
        path = scope.get("raw_path") or scope["path"].encode()
        path = path.split(b"?", 1)[0]
        context, path = split_context(path)
        query: bytes = scope.get("query_string") or b""
        target = path + b"?" + query if query else path
        headers: Headers = []
        trace = b""
        drop = _HOP_BY_HOP | _named_by_connection(scope["headers"])
        for name, value in scope["headers"]:
            name = name.lower()
            if name == TRACE_HEADER:
                trace = value
            elif name not in drop:
                headers.append((name, value))
        trace = trace or os.urandom(16).hex().encode()
        headers.append((TRACE_HEADER, trace))
        call = _Call(self, stamp, started, method, target, headers, context or trace.decode())

        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.config.max_body_bytes:
                await _answer(send, 413, "request body over the proxy's limit", trace)
                return call.finish(body, 413, f"request body over {self.config.max_body_bytes} B")

        try:
            response = await self.pool.request(method, target, headers, bytes(body))
        except UpstreamError as exc:
            status = 504 if exc.timeout else 502
            await _answer(send, status, f"upstream unavailable: {exc}", trace)
            return call.finish(body, status, str(exc))

        drop = _RESPONSE_DROP | _named_by_connection(response.headers)
        out = [(k, v) for k, v in response.headers if k.lower() not in drop]
        out.append((TRACE_HEADER, trace))
        await send({"type": "http.response.start", "status": response.status, "headers": out})
        call.response_headers(response.headers)
        error: str | None = None
        ended = False
        try:
            async for chunk, last in response.body():
                if call.first_byte is None:
                    call.first_byte = time.perf_counter()
                call.captured.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                ended = last
            if not ended:
                await send({"type": "http.response.body", "body": b""})
        except UpstreamError as exc:
            error = str(exc)  # the client sees the stream cut, as a direct client would
        except BaseException as exc:  # cancelled (the server stopping) or the client's side
            error = f"relaying the answer failed: {type(exc).__name__} {exc}".strip()
            raise
        finally:
            response.release()
            call.finish(body, response.status, error)


class _Call:
    """What one call's log row is made from; built into a row after the response ended."""

    def __init__(
        self,
        proxy: Proxy,
        stamp: str,
        started: float,
        method: str,
        target: bytes,
        headers: Headers,
        context: str,
    ) -> None:
        self.proxy = proxy
        self.stamp = stamp
        self.started = started
        self.method = method
        self.target = target
        self.headers = headers
        self.context = context
        self.first_byte: float | None = None
        self.sse = False
        self.captured = BodyCapture(proxy.config.log_body_limit)

    def response_headers(self, headers: Headers) -> None:
        encoding = ctype = ""
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-encoding":
                encoding = value.decode("latin-1")
            elif lowered == b"content-type":
                ctype = value.decode("latin-1")
        self.sse = ctype.startswith("text/event-stream")
        self.captured = BodyCapture(self.proxy.config.log_body_limit, encoding)

    def finish(self, body: bytearray, status: int, error: str | None) -> None:
        """Submit the call's row: a dict of LogRow's fields, built from typed values (validating
        a model per call would cost a tenth of the proxy's CPU; the log store checks types)."""
        ended = time.perf_counter()
        config = self.proxy.config
        request_json: Any = None
        request_body: Any = None
        if len(body) > config.log_body_limit:
            request_body = truncated(bytes(body[: config.log_body_limit]), len(body))
        elif body:
            try:
                request_json = request_body = json.loads(body)
            except ValueError:
                request_body = body.decode("utf-8", errors="replace")
        path = self.target.decode("latin-1")
        usage = read_usage(request_json, path, self.captured, self.sse)
        trace = next(v for k, v in self.headers if k == TRACE_HEADER).decode("latin-1")
        first = self.first_byte
        self.proxy.log.submit(
            "proxy_log",
            dict(
                id=os.urandom(16).hex(),
                tracing_id=trace,
                litmus_context=self.context,
                timestamp=self.stamp,
                method=self.method,
                request_uri=path,
                upstream_url=self.proxy.pool.base_url + path,
                request_headers=_log_headers(self.headers, config.log_secrets),
                request_body=request_body,
                request_size=len(body),
                response_status=status,
                response_body=self.captured.for_log(),
                response_size=self.captured.size,
                latency_ms=round((ended - self.started) * 1000, 3),
                time_to_first_byte_ms=None
                if first is None
                else round((first - self.started) * 1000, 3),
                # SSE, or Gemini's streamed JSON array (streamGenerateContent without alt=sse)
                streamed=self.sse or ":streamGenerateContent" in path,
                model=usage.model,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
                error=error or self.captured.decode_error,
            ),
        )
