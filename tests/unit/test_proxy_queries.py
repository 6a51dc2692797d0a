"""Each /proxy/* query is written once, in BigQuery's dialect. Proof that what DuckDB runs (the
sqlglot translation) returns the right rows: on the same generated data, the DuckDB form, the
form regenerated from BigQuery's own parse, and a plain-Python reading of the same rows agree."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from assay.adapters.duckdb_logstore import DuckDBLogStore, duckdb_sql
from assay.errors import BadRequest
from assay.models.logs import LogRow
from assay.models.proxy import parse_day
from assay.services import proxy_data as q
from assay.timeutil import iso
from sqlglot.errors import ErrorLevel

DAY = date(2026, 3, 23)
CONTEXTS = ["alpha", "beta", 'it\'s "quoted"; DROP TABLE proxy_log --', None]


def make_rows(n: int, seed: int) -> list[LogRow]:
    rnd = random.Random(seed)
    start = datetime(2026, 3, 22, 12, tzinfo=UTC)
    rows = []
    for i in range(n):
        prompt = rnd.choice([None, rnd.randint(0, 500)])
        completion = None if prompt is None else rnd.randint(0, 200)
        headers = {"user_agent": "t"}
        if rnd.random() < 0.4:
            headers["x_goog_request_params"] = rnd.choice(["model=a", "model=b"])
        rows.append(
            LogRow(
                id=uuid.UUID(int=rnd.getrandbits(128)).hex,
                tracing_id=f"t{i}",
                litmus_context=rnd.choice(CONTEXTS),
                timestamp=iso(start + timedelta(minutes=rnd.randint(0, 36 * 60))),
                method="POST",
                request_uri="/v1/chat/completions",
                request_headers=headers,
                request_body={"n": i, "nested": {"list": [1, {"k": "v"}]}},
                response_status=rnd.choice([200, 200, 429, 500]),
                response_body=rnd.choice([{"ok": True}, "text", None]),
                latency_ms=round(rnd.uniform(1, 900), 3),
                streamed=rnd.random() < 0.5,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=None if prompt is None else prompt + (completion or 0),
            )
        )
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBLogStore:
    s = DuckDBLogStore(Path(tmp_path_factory.mktemp("q")) / "logs.duckdb")
    for table, seed in (("proxy_log", 1), ("litmus_log", 2)):
        s.write(table, [r.model_dump(mode="json") for r in make_rows(400, seed)])  # type: ignore[arg-type]
    return s


def in_day(row: LogRow, context: str | None) -> bool:
    stamp = datetime.fromisoformat(row.timestamp.replace("Z", "+00:00"))
    return stamp.date() == DAY and (context is None or row.litmus_context == context)


def oracle_rows(table: str, context: str | None, limit: int) -> list[dict[str, Any]]:
    rows = [r for r in make_rows(400, 1 if table == "proxy_log" else 2) if in_day(r, context)]
    rows.sort(key=lambda r: (r.timestamp, r.id))
    return [q._litmus_row(r.model_dump(mode="json")) for r in rows[:limit]]


def oracle_agg(context: str | None) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, Any], list[LogRow]] = {}
    for r in make_rows(400, 1):
        if in_day(r, context):
            key = (r.litmus_context, (r.request_headers or {}).get("x_goog_request_params"))
            groups.setdefault(key, []).append(r)

    def total(rows: list[LogRow], field: str) -> int | None:
        values = [getattr(r, field) for r in rows if getattr(r, field) is not None]
        return sum(values) if values else None

    out = []
    for (ctx, params), rows in sorted(groups.items(), key=lambda kv: _nulls_first(kv[0])):
        out.append(
            {
                "litmuscontext": ctx,
                "requestheaders_x_goog_request_params": params,
                "total_token_count": total(rows, "total_tokens"),
                "prompt_token_count": total(rows, "prompt_tokens"),
                "candidates_token_count": total(rows, "completion_tokens"),
                "average_latency": round(sum(r.latency_ms or 0 for r in rows) / len(rows), 3),
            }
        )
    return out


def _nulls_first(key: tuple[Any, Any]) -> tuple[Any, ...]:
    return tuple((v is not None, v or "") for v in key)


def normalise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timestamps as Litmus renders them; float sums rounded as /proxy/agg rounds them."""
    out = []
    for row in rows:
        row = dict(row)
        if isinstance(row.get("average_latency"), float):
            row["average_latency"] = round(row["average_latency"], 3)
        out.append({k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()})
    return out


def regenerated(sql: str) -> str:
    """The query as BigQuery itself reads it, written back out: BigQuery -> AST -> BigQuery."""
    return sqlglot.transpile(sql, read="bigquery", write="bigquery", error_level=ErrorLevel.RAISE)[
        0
    ]


QUERIES = [
    pytest.param(table, context, id=f"{table}-{'ctx' if context else 'all'}")
    for table in ("proxy_log", "litmus_log")
    for context in (None, "alpha", CONTEXTS[2])
]


@pytest.mark.parametrize(("table", "context"), QUERIES)
def test_rows_query_agrees_in_both_dialects(
    store: DuckDBLogStore, table: str, context: str | None
) -> None:
    limit = 120
    sql = q.rows_sql(table, context is not None, limit)  # type: ignore[arg-type]
    params = q._params(DAY, context)
    expected = oracle_rows(table, context, limit)
    assert expected, "the generated data must cover the day"
    via_duckdb = [q._litmus_row(r) for r in store.select(sql, params)]
    via_bigquery_parse = [q._litmus_row(r) for r in store.select(regenerated(sql), params)]
    assert via_duckdb == via_bigquery_parse == expected


@pytest.mark.parametrize("context", [None, "beta", CONTEXTS[2]])
def test_agg_query_agrees_in_both_dialects(store: DuckDBLogStore, context: str | None) -> None:
    sql = q.agg_sql(context is not None)
    params = q._params(DAY, context)
    expected = oracle_agg(context)
    assert expected
    assert normalise(store.select(sql, params)) == expected
    assert normalise(store.select(regenerated(sql), params)) == expected
    assert q.aggregate(store, DAY, context) == expected


def test_queries_carry_no_values_and_are_valid_bigquery() -> None:
    for sql in [q.agg_sql(True), q.rows_sql("proxy_log", True, 10)]:
        assert "@context" in sql and "@day_start" in sql
        assert "alpha" not in sql
        sqlglot.parse_one(sql, read="bigquery", error_level=ErrorLevel.RAISE)
        assert "$context" in duckdb_sql(sql)


@pytest.mark.parametrize("text", ["2026-03-23", "20260323", " 2026-03-23 "])
def test_date_forms(text: str) -> None:
    assert parse_day(text) == DAY


@pytest.mark.parametrize(
    "text", [None, "", "2026-3-23", "2026-0323", "23-03-2026", "2026-02-30", "x"]
)
def test_bad_dates(text: str | None) -> None:
    with pytest.raises(BadRequest, match="date"):
        parse_day(text)


def test_flatten() -> None:
    doc = {"a": {"b": [1, {"c": None}], "empty": {}}, "x": "y", "l": []}
    assert q.flatten(doc) == {"a_b_0": 1, "a_b_1_c": None, "a_empty": {}, "x": "y", "l": []}
