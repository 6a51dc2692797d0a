"""Errors mapped to HTTP once, in each API's own format."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from werkzeug.wrappers import Response

from assay.errors import AssayError, BadRequest, ValidationFailed
from assay.timeutil import now_iso
from assay.web.routes import Api


def api_of_path(path: str) -> Api:
    """Which API an (unrouted) path belongs to: Citrus lives under /api and the platform pages."""
    if path.startswith("/api") or path in ("/", "/health", "/docs", "/redoc", "/openapi.json"):
        return "citrus"
    return "litmus"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def _loc(error: Any) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")


def from_validation(exc: ValidationError) -> BadRequest:
    """The first problem of a pydantic error, in words a client can act on."""
    first = exc.errors(include_url=False)[0]
    field = _loc(first)
    if first["type"] == "missing":
        return ValidationFailed(f"Missing '{field}' in request data", field=field)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if field:
        return ValidationFailed(f"Invalid '{field}': {message}", field=field)
    return ValidationFailed(message)


def error_response(exc: AssayError, api: Api, headers: dict[str, str] | None = None) -> Response:
    if api == "litmus":
        return json_response({"error": exc.message}, exc.status, headers)
    status = 422 if isinstance(exc, ValidationFailed) else exc.status
    body: dict[str, Any] = {
        "error": exc.title,
        "detail": exc.message,
        "code": exc.code,
        "timestamp": now_iso(),
    }
    if exc.field:
        body["field"] = exc.field
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return json_response(body, status, headers)
