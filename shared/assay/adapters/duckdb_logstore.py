"""The embedded log store: DuckDB, one file in the data dir, one table per log kind."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from assay.adapters.logstore import LogStore
from assay.models.logs import LogRow, LogTable, json_text

_JSON_FIELDS = {"request_headers", "request_body", "response_body"}
_TYPES = {
    "timestamp": "TIMESTAMPTZ",
    "request_size": "BIGINT",
    "response_status": "INTEGER",
    "response_size": "BIGINT",
    "latency_ms": "DOUBLE",
    "time_to_first_byte_ms": "DOUBLE",
    "streamed": "BOOLEAN",
    "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT",
    "total_tokens": "BIGINT",
}
COLUMNS = tuple(LogRow.model_fields)
TABLES: tuple[LogTable, ...] = ("proxy_log", "litmus_log")


@lru_cache(maxsize=64)
def duckdb_sql(bigquery_sql: str) -> str:
    """The DuckDB form of a query written for BigQuery (`@name` parameters become `$name`)."""
    import sqlglot

    return sqlglot.transpile(bigquery_sql, read="bigquery", write="duckdb")[0]


def column_type(name: str) -> str:
    return "JSON" if name in _JSON_FIELDS else _TYPES.get(name, "VARCHAR")


_WARM_UP = "SELECT JSON_VALUE(j, '$.k') AS v FROM t WHERE ts >= @a GROUP BY v ORDER BY v LIMIT 1"
_READ_COLUMNS = "{" + ", ".join(f"'{c}': '{column_type(c)}'" for c in COLUMNS) + "}"


def _json_lines(rows: list[dict[str, Any]], chunk: int = 32) -> str:
    """Rows as JSON lines, letting other threads run every `chunk` rows: one long run of
    json.dumps holds the GIL for up to 20 ms, which callers (the proxy) would feel."""
    lines: list[str] = []
    for start in range(0, len(rows), chunk):
        lines.extend(json_text({c: r.get(c) for c in COLUMNS}) for r in rows[start : start + chunk])
        time.sleep(0)
    return "\n".join(lines)


class DuckDBLogStore(LogStore):
    def __init__(self, path: Path) -> None:
        import duckdb  # heavy: imported only when the adapter is built

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One DuckDB thread for the frequent small writes: idle DuckDB workers spin, and beside
        # 64 worker threads that cost ~1.4 s of CPU per 1,000 logged cases (bench/RESULTS.md).
        # Queries, rare and large, get every core for their duration (`_all_cores`).
        self._conn = duckdb.connect(str(path), config={"threads": 1})
        self._cores = os.cpu_count() or 1
        self._lock = threading.Lock()
        self._batch = Path(path).with_suffix(".batch.jsonl")
        # sqlglot takes ~250 ms to import and set up its dialects: not on the first query.
        threading.Thread(target=duckdb_sql, args=(_WARM_UP,), daemon=True).start()
        cols = ", ".join(f"{c} {column_type(c)}" for c in COLUMNS)
        for table in TABLES:
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")

    def write(self, table: LogTable, rows: list[dict[str, Any]]) -> None:
        """One statement per batch, read by DuckDB's own JSON reader from a newline-delimited
        file: half the CPU of binding each column as a list (bench/proxy_bench.py: 49 vs 83 us a
        row), and the parsing runs in DuckDB without Python's GIL, beside the request path."""
        if table not in TABLES:
            raise ValueError(f"unknown log table {table}")
        if not rows:
            return
        lines = _json_lines(rows)
        with self._lock:
            self._batch.write_text(lines, encoding="utf-8")
            self._conn.execute(
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
                f"FROM read_json(?, format='newline_delimited', columns={_READ_COLUMNS}, "
                "maximum_object_size=268435456)",
                [str(self._batch)],
            )

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @contextmanager
    def _all_cores(self) -> Iterator[None]:
        self._conn.execute(f"SET threads = {self._cores}")
        try:
            yield
        finally:
            self._conn.execute("SET threads = 1")

    def select(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock, self._all_cores():
            cur = self._conn.cursor()
            cur.execute(duckdb_sql(sql), params)
            names = [d[0] for d in cur.description]
            json_columns = [i for i, d in enumerate(cur.description) if str(d[1]) == "JSON"]
            rows = cur.fetchall()
        out = []
        for row in rows:
            values = list(row)
            for i in json_columns:
                if values[i] is not None:
                    values[i] = json.loads(values[i])
            out.append(dict(zip(names, values, strict=True)))
        return out

    def ping(self) -> None:
        with self._lock:
            self._conn.execute("SELECT 1").fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
