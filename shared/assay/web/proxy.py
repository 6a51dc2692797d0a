"""The proxy function's entry point. functions-framework (ASGI) hands it a Starlette request;
what it returns is the proxy itself, run as an ASGI app on the same connection, so the
response streams through untouched instead of being built in memory."""

from __future__ import annotations

import signal
import threading
from functools import cache
from types import FrameType
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


@cache
def _keep_logs_on_stop() -> None:
    """uvicorn (under functions-framework's gunicorn worker too) ends its graceful shutdown by
    raising SIGTERM again under the default handler, which kills the process before atexit has
    let the log writer write what it holds. So, once the server runs: a SIGTERM still starts the
    graceful shutdown, and is then blocked in this thread, so the re-raise waits and the
    interpreter exits normally, writing the rows (tests/contract/test_proxy_function.py)."""
    if threading.current_thread() is not threading.main_thread():
        return  # `assay serve`: its proxies run in a thread and it closes the writer itself
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
        previous(signum, frame)

    signal.signal(signal.SIGTERM, stop)


async def proxy(request: Request) -> Response:
    from assay.bootstrap import container

    _keep_logs_on_stop()
    c = container()
    upstream = request.scope.get(UPSTREAM_SCOPE_KEY) or c.settings.proxy_upstream
    if not upstream:
        return JSONResponse(
            {"error": {"message": "no upstream configured (ASSAY_PROXY_UPSTREAM)"}}, 500
        )
    return _Forward(c.proxy(upstream))
