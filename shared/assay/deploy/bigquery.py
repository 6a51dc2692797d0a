"""The log tables as Terraform declares them: exactly the tables the BigQuery log store would
create itself (`BigQueryLogStore.table_definitions`, derived from `LogRow`), so the deployed
schema and the code cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    name: str
    schema: list[dict[str, str]]  # BigQuery JSON schema: name, type, mode
    partition_type: str
    partition_field: str
    clustering: list[str]


class _NoClient:
    """Enough of a client to build table definitions offline."""

    project = "offline"


def tables() -> list[Table]:
    from assay.adapters.bigquery_logstore import BigQueryLogStore

    store = BigQueryLogStore("offline", "offline", client=_NoClient())
    out = []
    for table in store.table_definitions():
        fields: list[Any] = table.schema
        partitioning = table.time_partitioning
        out.append(
            Table(
                name=table.table_id,
                schema=[{"name": f.name, "type": f.field_type, "mode": f.mode} for f in fields],
                partition_type=partitioning.type_,
                partition_field=partitioning.field,
                clustering=list(table.clustering_fields or []),
            )
        )
    return out


def schema() -> list[dict[str, str]]:
    """The one schema every log table shares (they hold the same rows)."""
    found = {repr(t.schema) for t in tables()}
    if len(found) != 1:
        raise ValueError("the log tables no longer share one schema: give each its own file")
    return tables()[0].schema
