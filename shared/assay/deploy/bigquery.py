"""The BigQuery schema of the log tables, derived from `LogRow` (the one model of a log row)."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from assay.models.logs import LogRow, LogTable

TABLES: tuple[str, ...] = get_args(LogTable)
PARTITION_FIELD = "timestamp"
CLUSTERING = ("litmus_context",)

# Fields whose Python type does not say what they hold.
_OVERRIDES = {"timestamp": "TIMESTAMP"}  # an ISO 8601 string in the model; partitioned on
_SCALARS: dict[Any, str] = {str: "STRING", int: "INT64", float: "FLOAT64", bool: "BOOL"}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed)."""
    if annotation is Any:
        return Any, True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        inner = args[0] if len(args) == 1 else Any
        return inner, nullable
    return annotation, False


def bigquery_type(name: str, annotation: Any) -> str:
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    inner, _ = _unwrap(annotation)
    if inner in _SCALARS:
        return _SCALARS[inner]
    return "JSON"  # dicts, lists and Any: stored as JSON, queried with JSON functions


def schema() -> list[dict[str, str]]:
    """The BigQuery JSON schema (as `bq mk --schema` and Terraform's `schema` take it)."""
    out = []
    for name, info in LogRow.model_fields.items():
        _, nullable = _unwrap(info.annotation)
        out.append(
            {
                "name": name,
                "type": bigquery_type(name, info.annotation),
                "mode": "NULLABLE" if nullable or not info.is_required() else "REQUIRED",
            }
        )
    return out
