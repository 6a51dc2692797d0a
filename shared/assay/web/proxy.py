"""The proxy function's entry point. functions-framework (ASGI) hands it a Starlette request;
what it returns is the proxy itself, run as an ASGI app on the same connection, so the
response streams through untouched instead of being built in memory."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assay.services.proxy import Proxy

# `assay serve` runs several proxies in one process and names each one's upstream here.
UPSTREAM_SCOPE_KEY = "assay.proxy_upstream"


class _Forward(Response):
    def __init__(self, proxy: Proxy) -> None:  # no body of its own: the proxy sends it
        self.proxy = proxy
        self.background = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.proxy(scope, receive, send)


async def proxy(request: Request) -> Response:
    from assay.bootstrap import container

    c = container()
    upstream = request.scope.get(UPSTREAM_SCOPE_KEY) or c.settings.proxy_upstream
    if not upstream:
        return JSONResponse(
            {"error": {"message": "no upstream configured (ASSAY_PROXY_UPSTREAM)"}}, 500
        )
    return _Forward(c.proxy(upstream))
