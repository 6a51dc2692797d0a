"""The /proxy/* queries: logged calls of a day, raw or flattened, and tokens and latency per
context. Each query is written once, in BigQuery's dialect with named parameters; the DuckDB
adapter runs the sqlglot translation (tests/unit/test_proxy_queries.py proves both agree)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from assay.adapters.logstore import LogStore
from assay.errors import AssayError
from assay.models.logs import LogRow, LogTable
from assay.models.proxy import DEFAULT_LIMIT
from assay.timeutil import iso

# Storage column -> the Litmus field name a client reads.
LITMUS_NAMES = {
    "id": "id",
    "tracing_id": "tracingID",
    "litmus_context": "litmusContext",
    "timestamp": "timestamp",
    "method": "method",
    "request_uri": "requestURI",
    "upstream_url": "upstreamURL",
    "request_headers": "requestHeaders",
    "request_body": "requestBody",
    "request_size": "requestSize",
    "response_status": "responseStatus",
    "response_body": "responseBody",
    "response_size": "responseSize",
    "latency_ms": "latency",
    "time_to_first_byte_ms": "timeToFirstByte",
    "streamed": "streamed",
    "model": "model",
    "prompt_tokens": "promptTokens",
    "completion_tokens": "completionTokens",
    "total_tokens": "totalTokens",
    "error": "error",
}
assert set(LITMUS_NAMES) == set(LogRow.model_fields), "every log column has a Litmus name"

_DAY = "timestamp >= @day_start AND timestamp < @day_end"
_CONTEXT = " AND litmus_context = @context"


def rows_sql(table: LogTable, with_context: bool, limit: int) -> str:
    columns = ", ".join(LITMUS_NAMES)
    where = _DAY + (_CONTEXT if with_context else "")
    return f"SELECT {columns} FROM {table} WHERE {where} ORDER BY timestamp, id LIMIT {int(limit)}"


def agg_sql(with_context: bool) -> str:
    where = _DAY + (_CONTEXT if with_context else "")
    return (
        "SELECT litmus_context AS litmuscontext,"
        " JSON_VALUE(request_headers, '$.x_goog_request_params')"
        " AS requestheaders_x_goog_request_params,"
        " SUM(total_tokens) AS total_token_count,"
        " SUM(prompt_tokens) AS prompt_token_count,"
        " SUM(completion_tokens) AS candidates_token_count,"
        " AVG(latency_ms) AS average_latency"
        f" FROM proxy_log WHERE {where}"
        " GROUP BY litmuscontext, requestheaders_x_goog_request_params"
        " ORDER BY litmuscontext, requestheaders_x_goog_request_params"
    )


def _params(day: date, context: str | None) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    params: dict[str, Any] = {"day_start": start, "day_end": start + timedelta(days=1)}
    if context:
        params["context"] = context
    return params


def _query(store: LogStore, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return store.select(sql, params)
    except Exception as exc:
        raise AssayError(f"Error querying the log store: {exc}") from exc


def _header_key(name: str) -> str:
    return name.lower().replace("-", "_")


def _litmus_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in row.items():
        if isinstance(value, datetime):
            value = iso(value)
        elif column == "request_headers" and isinstance(value, dict):
            value = {_header_key(k): v for k, v in value.items()}
        out[LITMUS_NAMES[column]] = value
    return out


def flatten(value: Any) -> dict[str, Any]:
    """Nested keys joined with `_`, list items by index: `responseBody_choices_0_text`.
    An empty object or list stays as it is, under its own key."""
    out: dict[str, Any] = {}

    def walk(item: Any, key: str) -> None:
        if isinstance(item, dict) and item:
            for k, v in item.items():
                walk(v, f"{key}_{k}" if key else str(k))
        elif isinstance(item, list) and item:
            for i, v in enumerate(item):
                walk(v, f"{key}_{i}" if key else str(i))
        else:
            out[key] = item

    walk(value, "")
    return out


def logged_calls(
    store: LogStore,
    table: LogTable,
    day: date,
    context: str | None,
    *,
    flat: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    sql = rows_sql(table, bool(context), limit)
    rows = [_litmus_row(r) for r in _query(store, sql, _params(day, context))]
    return [flatten(r) for r in rows] if flat else rows


def aggregate(store: LogStore, day: date, context: str | None) -> list[dict[str, Any]]:
    rows = _query(store, agg_sql(bool(context)), _params(day, context))
    for row in rows:
        if row["average_latency"] is not None:
            row["average_latency"] = round(float(row["average_latency"]), 3)
    return rows
