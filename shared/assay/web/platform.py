"""Platform handlers: `/`, `/health`, `/api/info`, `/openapi.json`, `/docs` and `/redoc`.

The documentation pages run offline: Swagger UI and ReDoc come from Python packages
(flask-openapi3-swagger, flask-openapi3-redoc) and are served from /docs/assets/.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from werkzeug.wrappers import Response

from assay import __version__
from assay.errors import NotFound
from assay.models.citrus import HealthOut, InfoOut, Limits, RootOut
from assay.services import ratelimit
from assay.timeutil import now_iso
from assay.web.app import STARTED, ApiRequest
from assay.web.errors import json_response
from assay.web.openapi import CITRUS_VERSION, document
from assay.web.routes import ROUTES

_EMAIL_CHECK_TTL_S = 30.0
_email_check: tuple[float, str] | None = None
_email_lock = threading.Lock()


def _exists(rule: str) -> bool:
    return any(r.rule == rule for r in ROUTES)


def _present(endpoints: dict[str, str]) -> dict[str, str]:
    """Only what is really served: GET / never advertises a path that would 404."""
    return {key: rule for key, rule in endpoints.items() if _exists(rule)}


def root(req: ApiRequest) -> RootOut:
    groups = {
        "auth": {
            "register": "/api/auth/register",
            "login": "/api/auth/login",
            "verify_otp": "/api/auth/verify-otp",
            "me": "/api/auth/me",
        },
        "chat": {
            "dual_responses": "/api/v1/evaluations/dual-responses",
            "store_preference": "/api/v1/evaluations/store-preference",
        },
        "analytics": {
            "stats": "/api/v1/evaluations/stats",
            "traces": "/api/v1/traces",
            "trace_statistics": "/api/v1/traces/statistics",
            "model_performance": "/api/v1/models/performance",
            "realtime": "/api/v1/analytics/realtime",
        },
    }
    endpoints: dict[str, str | dict[str, str]] = {
        "health": "/health",
        "info": "/api/info",
        "docs": "/docs",
        "redoc": "/redoc",
        "openapi": "/openapi.json",
    }
    endpoints.update({name: found for name, group in groups.items() if (found := _present(group))})
    return RootOut(
        name="Assay - LLM Evaluation Platform",
        version=CITRUS_VERSION,
        status="operational",
        message="Welcome to Assay: the Citrus LLM evaluation API and the Litmus test runner",
        endpoints=endpoints,
        timestamp=now_iso(),
    )


def _check(fn: Callable[[], Any]) -> str:
    try:
        result = fn()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return result if isinstance(result, str) else "connected"


def _email_status(req: ApiRequest) -> str:
    """SMTP is asked at most every 30 s, so probes of /health do not hammer the mail server."""
    global _email_check
    with _email_lock:
        if _email_check is None or time.monotonic() - _email_check[0] > _EMAIL_CHECK_TTL_S:
            _email_check = (time.monotonic(), _check(req.c.mailer.check))
        return _email_check[1]


def health(req: ApiRequest) -> Response:
    c = req.c

    def database() -> None:
        c.store.ping()
        c.accounts.ping()

    checks = {
        "database": _check(database),
        "queue": _check(c.queue.ping),
        "log_store": _check(c.logstore.ping),
    }
    email = _email_status(req)
    if checks["database"] != "connected":
        status, code = "unhealthy", 503
    elif any(v != "connected" for v in checks.values()) or email.startswith("error"):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    body = HealthOut(
        status=status,  # type: ignore[arg-type]
        **checks,
        email=email,
        log_backlog=c.log_writer.backlog,
        version=CITRUS_VERSION,
        assay_version=__version__,
        uptime_seconds=round(time.monotonic() - STARTED, 1),
        timestamp=now_iso(),
    )
    return json_response(body.model_dump(mode="json"), code)


def info(req: ApiRequest) -> InfoOut:
    s = req.c.settings
    capabilities = {
        "chat": _exists("/api/v1/evaluations/dual-responses"),
        "evaluations": _exists("/api/v1/traces/<trace_id>/evaluate"),
        "analytics": _exists("/api/v1/analytics/realtime"),
        "tracing": _exists("/api/v1/traces"),
        "preferences": _exists("/api/v1/evaluations/store-preference"),
        "accounts": _exists("/api/auth/verify-otp"),
        "test_runs": _exists("/runs/submit"),
    }
    features = {
        "accounts": "Email one-time-code sign-in with bearer tokens",
        "test_runs": "Test runs against any HTTP system, judged by an LLM",
        "chat": "Dual Response Generation",
        "preferences": "Preference Learning",
        "analytics": "Model Performance Analytics",
        "tracing": "Real-time Tracing",
        "evaluations": "Trace evaluation by a judge model",
    }
    return InfoOut(
        platform="Assay",
        version=CITRUS_VERSION,
        assay_version=__version__,
        features=[text for key, text in features.items() if capabilities[key]],
        supported_models=sorted({s.model_1, s.model_2, s.judge_model}),
        capabilities=capabilities,
        limits=Limits(
            max_message_length=s.max_message_length,
            max_chat_history=s.max_chat_history,
            max_concurrent_requests=s.max_concurrent_requests,
            request_timeout_seconds=s.request_timeout_s,
            rate_limits_per_minute={c.name: c.limit for c in ratelimit.CLASSES},
        ),
        timestamp=now_iso(),
    )


def openapi(req: ApiRequest) -> dict[str, Any]:
    return document()


# -- offline documentation pages --------------------------------------------------------------

_ASSETS = {
    "swagger-ui-bundle.js": ("flask_openapi3_swagger", "templates/swagger/js/swagger-ui-bundle.js"),
    "swagger-ui-standalone-preset.js": (
        "flask_openapi3_swagger",
        "templates/swagger/js/swagger-ui-standalone-preset.js",
    ),
    "swagger-ui.css": ("flask_openapi3_swagger", "templates/swagger/css/swagger-ui.css"),
    "redoc.standalone.js": ("flask_openapi3_redoc", "templates/redoc/js/redoc.standalone.js"),
}

_SWAGGER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Assay API - Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout", validatorUrl: null});
</script></body></html>
"""

_REDOC = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Assay API - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script></body></html>
"""


def _html(page: str) -> Response:
    return Response(page, mimetype="text/html")


def swagger_ui(req: ApiRequest) -> Response:
    return _html(_SWAGGER)


def redoc(req: ApiRequest) -> Response:
    return _html(_REDOC)


@cache
def _asset(name: str) -> bytes:
    package, path = _ASSETS[name]
    return resources.files(package).joinpath(path).read_bytes()


def docs_asset(req: ApiRequest) -> Response:
    name = req.args["asset"]
    if name not in _ASSETS:
        raise NotFound(f"No documentation asset named '{name}'")
    mimetype = "text/css" if name.endswith(".css") else "text/javascript"
    response = Response(_asset(name), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
