"""The production log store: BigQuery. One table per log kind, partitioned by day on
`timestamp` and clustered by `litmus_context` (what every /proxy/* query filters on), written
with streaming inserts (each row's `id` as insertId, so a replayed spill is not counted twice)
and read with parameterised queries. google-cloud-bigquery is imported only when built."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from assay.adapters.duckdb_logstore import COLUMNS, TABLES, column_type
from assay.adapters.logstore import LogStore
from assay.models.logs import LogTable, json_text

# DuckDB column type -> BigQuery column type (the DuckDB schema is derived from LogRow).
_BQ_TYPES = {
    "JSON": "JSON",
    "TIMESTAMPTZ": "TIMESTAMP",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
    "VARCHAR": "STRING",
}


def bigquery_type(column: str) -> str:
    return _BQ_TYPES[column_type(column)]


def query_parameter(name: str, value: Any) -> Any:
    from google.cloud import bigquery

    if isinstance(value, bool):
        kind = "BOOL"
    elif isinstance(value, int):
        kind = "INT64"
    elif isinstance(value, float):
        kind = "FLOAT64"
    elif isinstance(value, datetime):
        kind = "TIMESTAMP"
    elif isinstance(value, date):
        kind = "DATE"
    else:
        kind, value = "STRING", None if value is None else str(value)
    return bigquery.ScalarQueryParameter(name, kind, value)


class BigQueryLogStore(LogStore):
    def __init__(
        self, project: str | None, dataset: str, *, client: Any = None, location: str | None = None
    ) -> None:
        if client is None:
            from google.cloud import bigquery

            client = bigquery.Client(project=project, location=location)
        self.client = client
        self.dataset = f"{project or client.project}.{dataset}"
        self.location = location
        self._ready = False

    def table_definitions(self) -> list[Any]:
        from google.cloud import bigquery

        schema = [
            bigquery.SchemaField(c, bigquery_type(c), mode="REQUIRED" if c == "id" else "NULLABLE")
            for c in COLUMNS
        ]
        tables = []
        for name in TABLES:
            table = bigquery.Table(f"{self.dataset}.{name}", schema=schema)
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field="timestamp"
            )
            table.clustering_fields = ["litmus_context"]
            tables.append(table)
        return tables

    def ensure_tables(self) -> None:
        """Create the dataset and tables when missing. Deployments have them already (infra/),
        and their writers may read but not create datasets: look before creating."""
        if self._ready:
            return
        from google.api_core.exceptions import NotFound

        for table in self.table_definitions():
            try:
                self.client.get_table(table.reference)
            except NotFound:
                self.client.create_dataset(self.dataset, exists_ok=True)
                self.client.create_table(table, exists_ok=True)
        self._ready = True

    def write(self, table: LogTable, rows: list[dict[str, Any]]) -> None:
        if table not in TABLES:
            raise ValueError(f"unknown log table {table}")
        if not rows:
            return
        self.ensure_tables()
        payload = [
            {
                c: json_text(r.get(c))
                if column_type(c) == "JSON" and r.get(c) is not None
                else r.get(c)
                for c in COLUMNS
            }
            for r in rows
        ]
        errors = self.client.insert_rows_json(
            f"{self.dataset}.{table}", payload, row_ids=[r["id"] for r in rows]
        )
        if errors:
            raise RuntimeError(f"BigQuery refused {len(errors)} of {len(rows)} rows: {errors[:3]}")

    def select(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(k, v) for k, v in params.items()],
            default_dataset=self.dataset,
        )
        result = self.client.query(sql, job_config=config, location=self.location).result()
        return [dict(row.items()) for row in result]

    def ping(self) -> None:
        self.client.get_dataset(self.dataset)
