"""Handlers of /proxy/*: the logged calls (proxy and worker), their aggregates, the proxies."""

from __future__ import annotations

from typing import Any

from assay.errors import AssayError
from assay.models.logs import LogTable
from assay.models.proxy import LogQuery, LogRowsQuery, ProxyServices
from assay.services import proxy_data as queries
from assay.web.app import ApiRequest


def _rows(req: ApiRequest, table: LogTable) -> list[dict[str, Any]]:
    q = req.params(LogRowsQuery)
    store = req.c.logstore
    return queries.logged_calls(store, table, q.date, q.context, flat=q.flatten, limit=q.limit)


def proxy_data(req: ApiRequest) -> list[dict[str, Any]]:
    return _rows(req, "proxy_log")


def litmus_data(req: ApiRequest) -> list[dict[str, Any]]:
    return _rows(req, "litmus_log")


def proxy_agg(req: ApiRequest) -> list[dict[str, Any]]:
    q = req.params(LogQuery)
    return queries.aggregate(req.c.logstore, q.date, q.context)


def list_services(req: ApiRequest) -> ProxyServices:
    try:
        return ProxyServices(proxy_services=req.c.proxy_directory.list())
    except Exception as exc:
        raise AssayError(f"Error listing Cloud Run services: {exc}") from exc
