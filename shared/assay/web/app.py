"""Dispatch of one HTTP function: route, limit, authenticate, validate, call, render."""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from assay.errors import AssayError, BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge
from assay.web.errors import api_of_path, error_response, from_validation, json_response
from assay.web.routes import ROUTES, Route, routes_of

if TYPE_CHECKING:
    from assay.models.citrus import User

log = logging.getLogger(__name__)
# When this instance started: main.py imports this module at cold start (`/health` uptime).
STARTED = time.monotonic()
M = TypeVar("M", bound=BaseModel)


def url_map(routes: list[Route] | tuple[Route, ...]) -> Map:
    return Map(
        [Rule(r.rule, methods=list(r.methods), endpoint=r, strict_slashes=False) for r in routes],
        strict_slashes=False,
        merge_slashes=False,
    )


@cache
def _function_map(function: str | None) -> Map:
    return url_map(ROUTES if function is None else routes_of(function))


@cache
def resolve(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


class ApiRequest:
    """What a handler sees: path args, query, body helpers and the container."""

    def __init__(
        self, request: Request, route: Route, args: dict[str, str], user: User | None = None
    ) -> None:
        from assay.bootstrap import container

        self.http = request
        self.route = route
        self.args = args
        self.user = user  # the signed-in Citrus user on bearer routes
        self.query = request.args
        self.c = container()

    def json(self) -> Any:
        data = self.http.get_data(cache=True)
        if not data.strip():
            raise BadRequest("Request body must be a JSON object")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Request body is not valid JSON") from None

    def model(self, model: type[M]) -> M:
        body = self.json()
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise from_validation(exc) from None

    def params(self, model: type[M]) -> M:
        """The query string validated by `model` (the route's `query`, which /openapi.json
        documents)."""
        try:
            return model.model_validate(self.query.to_dict())
        except ValidationError as exc:
            raise from_validation(exc) from None

    def flag(self, name: str) -> bool | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise BadRequest(f"'{name}' must be true or false", field=name)

    def integer(self, name: str, *, low: int | None = None, high: int | None = None) -> int | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except ValueError:
            raise BadRequest(f"'{name}' must be an integer", field=name) from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise BadRequest(f"'{name}' must be between {low} and {high}", field=name)
        return number


Handler = Callable[[ApiRequest], Any]


def _check_size(request: Request, limit: int) -> None:
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"Request body is {length} bytes; the limit is {limit}")
    if length is None and request.method in ("POST", "PUT", "PATCH"):
        # Chunked upload: read at most limit + 1 bytes to decide.
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes")
        request._cached_data = data  # type: ignore[attr-defined]


def render(result: Any, status: int) -> Response:
    """A handler's result as a response: a Response as is, a pydantic model or any JSON value
    as JSON, a bare string as `{"message": ...}`."""
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        return json_response(result.model_dump(mode="json"), status)
    if isinstance(result, str):
        return json_response({"message": result}, status)
    return json_response(result, status)


def handle(function: str | None, request: Request) -> Response:
    """Serve `request` with the routes of `function` (None: every route)."""
    path = request.path
    api = api_of_path(path)
    limit_headers: dict[str, str] = {}
    try:
        try:
            route, args = (
                _function_map(function).bind_to_environ(request.environ).match(return_rule=False)
            )
        except WzMethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            raise MethodNotAllowed(
                f"Method {request.method} is not allowed on {path} (allowed: {allowed})"
            ) from None
        except WzNotFound:
            raise NotFound(f"No route for {request.method} {path}") from None
        api = route.api
        from assay.bootstrap import container
        from assay.web.ratelimit import admit, occupy

        settings = container().settings
        user, limit_headers = admit(route, request)
        release = occupy(route, request)
        try:
            _check_size(request, settings.max_body_bytes)
            handler: Handler = resolve(route.handler)
            response = render(handler(ApiRequest(request, route, dict(args), user)), route.status)
        except BaseException:
            release()
            raise
        if response.is_streamed:
            response.call_on_close(release)  # a stream is in progress until its last byte
        else:
            release()
        response.headers.update(limit_headers)
        return response
    except AssayError as exc:
        headers = {**limit_headers, **getattr(exc, "headers", {})}
        return error_response(exc, api, headers)
    except ValidationError as exc:
        return error_response(from_validation(exc), api)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, path)
        from assay.errors import AssayError as Internal

        return error_response(Internal("Internal server error; see the server log"), api)


def http_function(function: str) -> Callable[[Request], Response]:
    """The body of a function's main.py: `handler = http_function("runs")`."""

    def entry(request: Request) -> Response:
        return handle(function, request)

    entry.__name__ = function
    return entry
