"""/openapi.json, generated from the routing table and the pydantic models: every route of both
APIs, its request and response schemas, its security scheme, rate-limit headers and the
errors it answers in its API's own format."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from assay import __version__
from assay.services import ratelimit
from assay.web.routes import ROUTES, Route

CITRUS_VERSION = "2.4.0"
_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ERRORS = {
    "citrus": "assay.models.citrus:ErrorEnvelope",
    "litmus": "assay.models.citrus:LitmusError",
}
_REASONS = {
    400: "Bad request (body is not JSON, or a bad parameter)",
    401: "Missing or invalid credentials",
    404: "Not found",
    422: "The body does not fit the schema; `field` names the first bad one",
    429: "Rate limit exceeded",
    500: "Unexpected server error",
    503: "A backing service is unavailable",
}
_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the window",
    "X-RateLimit-Remaining": "Requests left in the window",
    "X-RateLimit-Reset": "Unix time (seconds) when the window ends",
}


def _model(dotted: str) -> type[BaseModel]:
    from assay.web.app import resolve

    model: type[BaseModel] = resolve(dotted)
    return model


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """`/runs/<run_id>` -> (`/runs/{run_id}`, its path parameters)."""
    params = []
    for match in _PARAM.finditer(rule):
        kind = {"int": "integer", "float": "number"}.get(match["conv"] or "", "string")
        params.append(
            {"name": match["name"], "in": "path", "required": True, "schema": {"type": kind}}
        )
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", rule), params


Refs = dict[tuple[str, JsonSchemaMode], dict[str, Any]]


def _schemas() -> tuple[Refs, dict[str, Any]]:
    wanted: dict[tuple[str, JsonSchemaMode], type[BaseModel]] = {}
    for route in ROUTES:
        for dotted in (route.body, route.query):
            if dotted:
                wanted[(dotted, "validation")] = _model(dotted)
        if route.response:
            wanted[(route.response, "serialization")] = _model(route.response)
    for dotted in _ERRORS.values():
        wanted[(dotted, "serialization")] = _model(dotted)
    keys = list(wanted)
    refs, top = models_json_schema([(wanted[k], k[1]) for k in keys], ref_template=_REF)
    by_name = {k: refs[(wanted[k], k[1])] for k in keys}
    return by_name, top.get("$defs", {})


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _success(route: Route, refs: Refs) -> dict[str, Any]:
    if route.response:
        schema = refs[(route.response, "serialization")]
    elif route.media == "application/json":
        schema = {"type": "object"}
    else:
        schema = {"type": "string"}
    content = {media.strip(): {"schema": schema} for media in route.media.split(",")}
    return {"description": "Created" if route.status == 201 else "OK", "content": content}


def _error(ref: dict[str, Any], status: int | str, headers: dict[str, Any]) -> dict[str, Any]:
    description = _REASONS.get(status, "Error") if isinstance(status, int) else "Other errors"
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ref}},
    }
    if headers:
        out["headers"] = headers
    return out


def _int_header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer"}}


def operation(route: Route, method: str, refs: Refs) -> Any:
    _, params = openapi_path(route.rule)
    if route.query:
        params += _query_params(_model(route.query))
    cls = ratelimit.rate_class(route.api, route.rule, method)
    limit_headers = {k: _int_header(v) for k, v in _LIMIT_HEADERS.items()} if cls else {}
    success = _success(route, refs)
    if limit_headers:
        success["headers"] = limit_headers
    error_ref = refs[(_ERRORS[route.api], "serialization")]
    statuses: list[int] = [500, 503]
    if route.body or route.query or params:
        statuses += [400]
    if route.auth != "none":
        statuses += [401]
    if params:
        statuses += [404]
    if route.api == "citrus" and (route.body or route.query):
        statuses += [422]
    responses: dict[str, Any] = {str(route.status): success}
    for status in sorted(statuses):
        responses[str(status)] = _error(error_ref, status, limit_headers if status != 500 else {})
    if cls:
        retry = {**limit_headers, "Retry-After": _int_header("Seconds to wait")}
        responses["429"] = _error(error_ref, 429, retry)
    responses["default"] = _error(error_ref, "default", {})
    func = route.handler.rpartition(":")[2]
    op: dict[str, Any] = {
        "operationId": f"{route.function}_{func}_{method.lower()}",
        "summary": route.summary,
        "tags": [f"{route.api.capitalize()}: {route.function}"],
        "parameters": params,
        "responses": responses,
        "security": {"basic": [{"basicAuth": []}], "bearer": [{"bearerAuth": []}]}.get(
            route.auth, []
        ),
    }
    if cls:
        op["description"] = f"Rate limit: {cls.name}, {cls.limit} requests per minute."
    if route.body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    return op


@cache
def document() -> dict[str, Any]:
    refs, schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path, _ = openapi_path(route.rule)
        for method in route.methods:
            paths.setdefault(path, {})[method.lower()] = operation(route, method, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Assay: Litmus and Citrus APIs",
            "version": __version__,
            "description": (
                f"Litmus (test runs; HTTP Basic; errors `{{error}}`) at the root paths and "
                f"Citrus API v{CITRUS_VERSION} (accounts, evaluations, traces; bearer JWT; "
                "errors `{error, detail, code, timestamp}`) under /api."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }
