"""Calls to a system under test: timeout, retries of transient failures, one log row each."""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import urllib3
from urllib3.exceptions import HTTPError, LocationValueError, ReadTimeoutError

from assay.models.logs import LogRow, redact_headers
from assay.services.assessment import as_text
from assay.timeutil import now_iso

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
LOG_BODY_LIMIT = 64 * 1024


class LogSink(Protocol):
    def submit(self, table: Any, row: LogRow) -> None: ...


@dataclass
class CallResult:
    status_code: int | None = None
    json_body: Any = None
    is_json: bool = False
    text: str = ""
    content_type: str = ""
    latency_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _clip(text: str, limit: int = LOG_BODY_LIMIT) -> str:
    return (
        text if len(text) <= limit else text[:limit] + f"...[truncated {len(text) - limit} chars]"
    )


def _headers(spec: dict[str, Any], tracing_id: str) -> dict[str, str]:
    headers = {str(k): as_text(v) for k, v in (spec.get("headers") or {}).items()}
    headers["X-Litmus-Request"] = tracing_id
    return headers


def _encode(body: Any, headers: dict[str, str]) -> bytes | None:
    """A string body is sent as is; anything else as JSON (with a JSON content type if none)."""
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body, ensure_ascii=False).encode()


class CaseHTTP:
    """Calls with urllib3: its thread-safe pool costs ~0.6 ms of CPU per call here against
    httpx's ~1.1 ms, and the worker makes one such call per case (bench/RESULTS.md)."""

    def __init__(
        self,
        pool: urllib3.PoolManager,
        *,
        timeout_s: float,
        attempts: int,
        backoff_s: float,
        log: LogSink | None = None,
    ) -> None:
        self.pool = pool
        self.timeout = urllib3.Timeout(connect=min(10.0, timeout_s), read=timeout_s)
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.log = log

    def send(self, spec: dict[str, Any], tracing_id: str, *, retry: bool = True) -> CallResult:
        method = str(spec.get("method") or "POST").upper()
        url = str(spec.get("url") or "")
        headers = _headers(spec, tracing_id)
        body = spec.get("body")
        payload = _encode(body, headers)
        result = CallResult()
        attempts = self.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            started, stamp = time.perf_counter(), now_iso()
            retry_after: float | None = None
            try:
                response = self.pool.request(
                    method,
                    url,
                    body=payload,
                    headers=headers,
                    timeout=self.timeout,
                    retries=False,
                    redirect=True,
                )
                result.latency_ms = round((time.perf_counter() - started) * 1000, 3)
                result.status_code, result.error = response.status, None
                result.content_type = response.headers.get("content-type", "")
                result.text = response.data.decode("utf-8", errors="replace")
                try:
                    result.json_body, result.is_json = json.loads(result.text), True
                except ValueError:
                    result.json_body, result.is_json = None, False
                transient = response.status in TRANSIENT_STATUS
                if transient and (ra := response.headers.get("retry-after", "")).isdigit():
                    retry_after = min(float(ra), 30.0)
            except (HTTPError, LocationValueError, ValueError) as exc:
                result.latency_ms = round((time.perf_counter() - started) * 1000, 3)
                result.status_code, result.text, result.json_body, result.is_json = (
                    None,
                    "",
                    None,
                    False,
                )
                result.error = f"{type(exc).__name__}: {exc}"
                # A read timeout means the system got the request and is slow: not retried.
                transient = not isinstance(exc, ReadTimeoutError | LocationValueError | ValueError)
            self._log(method, url, headers, body, result, tracing_id, stamp)
            result.history.append(
                {
                    "attempt": attempt,
                    "status_code": result.status_code,
                    "error": result.error,
                    "latency_ms": result.latency_ms,
                }
            )
            if not (retry and transient and attempt < attempts):
                break
            delay = retry_after if retry_after is not None else self.backoff_s * 2 ** (attempt - 1)
            time.sleep(delay * (0.5 + random.random() / 2) if retry_after is None else delay)
        return result

    def _log(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        result: CallResult,
        tracing_id: str,
        stamp: str,
    ) -> None:
        if self.log is None:
            return
        request_text = "" if body is None else as_text(body)
        self.log.submit(
            "litmus_log",
            LogRow(
                id=uuid.uuid4().hex,
                tracing_id=tracing_id,
                litmus_context=tracing_id,
                timestamp=stamp,
                method=method,
                request_uri=url,
                upstream_url=url,
                request_headers=redact_headers(headers),
                request_body=body if len(request_text) <= LOG_BODY_LIMIT else _clip(request_text),
                request_size=len(request_text.encode()),
                response_status=result.status_code,
                response_body=result.json_body
                if result.is_json and len(result.text) <= LOG_BODY_LIMIT
                else _clip(result.text),
                response_size=len(result.text.encode()),
                latency_ms=result.latency_ms,
                error=result.error,
            ),
        )
