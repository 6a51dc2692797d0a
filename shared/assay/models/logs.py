"""Log rows: one per proxied LLM call (`proxy_log`) or per worker call to a system under test
(`litmus_log`). The BigQuery schema in infra/ and the DuckDB table are derived from this model."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel

LogTable = Literal["proxy_log", "litmus_log"]


class LogRow(BaseModel):
    id: str
    tracing_id: str | None = None
    litmus_context: str | None = None
    timestamp: str
    method: str
    request_uri: str
    upstream_url: str | None = None
    request_headers: dict[str, Any] | None = None
    request_body: Any = None
    request_size: int = 0
    response_status: int | None = None
    response_body: Any = None
    response_size: int = 0
    latency_ms: float | None = None
    time_to_first_byte_ms: float | None = None
    streamed: bool = False
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    error: str | None = None


# Headers that carry credentials: never logged unless explicitly configured.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    }
)


def redact_headers(headers: dict[str, Any], keep_secrets: bool = False) -> dict[str, Any]:
    if keep_secrets:
        return dict(headers)
    # Names may come normalised for the log (`x_api_key`): compare in the HTTP spelling.
    return {
        k: ("[REDACTED]" if k.lower().replace("_", "-") in SECRET_HEADERS else v)
        for k, v in headers.items()
    }


def json_text(value: Any) -> str:
    """Strict JSON for a log store: NaN and infinities (which Python's json reads and writes)
    become strings, lone surrogates (from `\\ud800`-style escapes) become U+FFFD; one odd body
    must not make a whole batch of rows unwritable."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
