"""Handlers of /proxy/*: the logged calls (proxy and worker), their aggregates, the proxies."""

from __future__ import annotations

from typing import Any

from assay.errors import AssayError
from assay.models.logs import LogTable
from assay.services import proxy_data as queries
from assay.web.app import ApiRequest


def _rows(req: ApiRequest, table: LogTable) -> list[dict[str, Any]]:
    return queries.logged_calls(
        req.c.logstore,
        table,
        queries.parse_day(req.query.get("date")),
        req.query.get("context") or None,
        flat=bool(req.flag("flatten")),
        limit=req.integer("limit", low=1, high=queries.MAX_LIMIT) or queries.DEFAULT_LIMIT,
    )


def proxy_data(req: ApiRequest) -> list[dict[str, Any]]:
    return _rows(req, "proxy_log")


def litmus_data(req: ApiRequest) -> list[dict[str, Any]]:
    return _rows(req, "litmus_log")


def proxy_agg(req: ApiRequest) -> list[dict[str, Any]]:
    day = queries.parse_day(req.query.get("date"))
    return queries.aggregate(req.c.logstore, day, req.query.get("context") or None)


def list_services(req: ApiRequest) -> dict[str, Any]:
    try:
        services = req.c.proxy_directory.list()
    except Exception as exc:
        raise AssayError(f"Error listing Cloud Run services: {exc}") from exc
    return {"proxy_services": [s.model_dump() for s in services]}
