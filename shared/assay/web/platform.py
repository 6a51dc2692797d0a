"""Platform handlers: health (the full Citrus report comes with the accounts issue)."""

from __future__ import annotations

import time
from typing import Any

from werkzeug.wrappers import Response

from assay import __version__
from assay.timeutil import now_iso
from assay.web.app import ApiRequest
from assay.web.errors import json_response

_STARTED = time.monotonic()


def _check(fn: Any) -> str:
    try:
        fn()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "connected"


def health(req: ApiRequest) -> Response:
    c = req.c
    checks = {
        "database": _check(c.store.ping),
        "queue": _check(c.queue.ping),
        "log_store": _check(c.logstore.ping),
    }
    if checks["database"] != "connected":
        status, code = "unhealthy", 503
    elif any(v != "connected" for v in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    body = {
        "status": status,
        **checks,
        "log_backlog": c.log_writer.backlog,
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - _STARTED, 1),
        "timestamp": now_iso(),
    }
    return json_response(body, code)
