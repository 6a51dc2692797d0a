"""The BigQuery adapter (BigQuery itself cannot run here): the tables it declares, the rows and
the typed query parameters it hands to google-cloud-bigquery, through a stand-in client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from assay.adapters.bigquery_logstore import BigQueryLogStore
from assay.models.logs import LogRow
from assay.models.proxy import parse_day
from assay.services import proxy_data
from google.api_core.exceptions import NotFound
from google.cloud import bigquery


class StandInClient:
    project = "proj"

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.created: list[Any] = []
        self.inserted: list[tuple[str, list[dict[str, Any]], list[str]]] = []
        self.queries: list[tuple[str, bigquery.QueryJobConfig]] = []

    def get_table(self, ref: bigquery.TableReference) -> None:
        if not any(getattr(t, "reference", None) == ref for t in self.created):
            raise NotFound(f"table {ref.table_id}")

    def create_dataset(self, name: str, exists_ok: bool) -> None:
        self.created.append(name)

    def create_table(self, table: bigquery.Table, exists_ok: bool) -> None:
        self.created.append(table)

    def insert_rows_json(
        self, table: str, rows: list[dict[str, Any]], row_ids: list[str]
    ) -> list[Any]:
        if self.refuse:
            return [{"index": 0, "errors": [{"reason": "invalid"}]}]
        self.inserted.append((table, rows, row_ids))
        return []

    def query(self, sql: str, job_config: bigquery.QueryJobConfig, location: str | None) -> Any:
        self.queries.append((sql, job_config))

        class Result:
            def result(self) -> list[Any]:
                return []

        return Result()


def test_tables_are_day_partitioned_and_clustered_by_context() -> None:
    store = BigQueryLogStore(None, "assay_logs", client=StandInClient())
    tables = store.table_definitions()
    assert [t.table_id for t in tables] == ["proxy_log", "litmus_log"]
    for table in tables:
        assert table.project == "proj" and table.dataset_id == "assay_logs"
        assert table.time_partitioning.type_ == "DAY"
        assert table.time_partitioning.field == "timestamp"
        assert table.clustering_fields == ["litmus_context"]
        types = {f.name: f.field_type for f in table.schema}
        assert set(types) == set(LogRow.model_fields)
        assert types["request_headers"] == "JSON" and types["timestamp"] == "TIMESTAMP"
        assert types["streamed"] == "BOOL" and types["latency_ms"] == "FLOAT64"


def test_rows_go_as_streaming_inserts_with_their_id_as_insert_id() -> None:
    client = StandInClient()
    store = BigQueryLogStore("p", "d", client=client)
    row = LogRow(
        id="r1",
        timestamp="2026-03-23T10:00:00.000Z",
        method="GET",
        request_uri="/",
        request_headers={"a": "b"},
        response_body=[1, 2],
    )
    store.write("proxy_log", [row.model_dump(mode="json")])
    [(table, rows, ids)] = client.inserted
    assert table == "p.d.proxy_log" and ids == ["r1"]
    assert rows[0]["request_headers"] == '{"a": "b"}' and rows[0]["response_body"] == "[1, 2]"
    assert rows[0]["request_body"] is None
    assert "p.d" in client.created  # the dataset and tables are made on first write
    created = len(client.created)
    BigQueryLogStore("p", "d", client=client).write("proxy_log", [row.model_dump(mode="json")])
    assert len(client.created) == created, "existing tables are not created again"
    with pytest.raises(RuntimeError, match="refused 1 of 1"):
        BigQueryLogStore("p", "d", client=StandInClient(refuse=True)).write(
            "proxy_log", [row.model_dump(mode="json")]
        )


def test_queries_are_parameterised_with_types() -> None:
    client = StandInClient()
    store = BigQueryLogStore("p", "d", client=client)
    day = parse_day("2026-03-23")
    proxy_data.aggregate(store, day, "it's; DROP")
    [(sql, config)] = client.queries
    assert sql == proxy_data.agg_sql(True) and "DROP" not in sql
    params = {p.name: (p.type_, p.value) for p in config.query_parameters}
    assert params == {
        "day_start": ("TIMESTAMP", datetime(2026, 3, 23, tzinfo=UTC)),
        "day_end": ("TIMESTAMP", datetime(2026, 3, 24, tzinfo=UTC)),
        "context": ("STRING", "it's; DROP"),
    }
    assert config.default_dataset.dataset_id == "d"
