"""The LLM proxies of `assay serve`: one per `name=url` entry of ASSAY_PROXY_UPSTREAMS, each on
its own port after the main one, all served by uvicorn on one event loop in one thread. The app
is the proxy function's own, built by functions-framework (`create_asgi_app`), as deployed."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assay.adapters.proxy_directory import LocalProxies
from assay.web.proxy import UPSTREAM_SCOPE_KEY

log = logging.getLogger("assay.serve")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str


def parse_upstreams(text: str) -> list[Upstream]:
    """`"openai=https://api.openai.com,gemini=https://generativelanguage.googleapis.com"`."""
    out: list[Upstream] = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, sep, url = (part.strip() for part in entry.partition("="))
        parts = urlsplit(url)
        if not sep or not _NAME.match(name):
            raise ValueError(f"ASSAY_PROXY_UPSTREAMS entry {entry!r} is not name=url")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ASSAY_PROXY_UPSTREAMS entry {entry!r}: url must be http(s)://host")
        if any(u.name == name for u in out):
            raise ValueError(f"ASSAY_PROXY_UPSTREAMS names {name!r} twice")
        out.append(Upstream(name, url))
    return out


def _bound(app: ASGIApp, upstream: str) -> ASGIApp:
    async def bound(scope: Any, receive: Any, send: Any) -> None:
        scope[UPSTREAM_SCOPE_KEY] = upstream
        await app(scope, receive, send)

    return bound


class ProxyServers:
    def __init__(
        self, host: str, first_port: int, upstreams: list[Upstream], source_dir: Path
    ) -> None:
        import uvicorn
        from functions_framework.aio import create_asgi_app

        app = create_asgi_app("proxy", str(source_dir / "proxy" / "main.py"), "http")
        self.urls: list[tuple[Upstream, str]] = []
        self.servers: list[Any] = []
        for i, upstream in enumerate(upstreams):
            port = first_port + i
            config = uvicorn.Config(
                _bound(app, upstream.url),
                host=host,
                port=port,
                loop="none",
                http="httptools",
                lifespan="off",
                access_log=False,
                log_level="warning",
                timeout_keep_alive=75,
            )
            self.servers.append(uvicorn.Server(config))
            self.urls.append((upstream, f"http://{host}:{port}"))
        self._thread = threading.Thread(target=self._run, name="assay-proxies", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        import uvloop

        async def main() -> None:
            tasks = [asyncio.create_task(s.serve()) for s in self.servers]
            while not all(s.started for s in self.servers):
                if any(t.done() for t in tasks):
                    self._error = next(
                        (t.exception() for t in tasks if t.done() and t.exception()),
                        RuntimeError("a proxy could not start"),
                    )
                    break
                await asyncio.sleep(0.02)
            self._ready.set()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            uvloop.run(main())
        except BaseException as exc:  # SystemExit from uvicorn when a port is taken
            self._error = exc
            self._ready.set()

    def start(self, directory: LocalProxies | None = None, timeout: float = 15.0) -> None:
        self._thread.start()
        if (
            not self._ready.wait(timeout)
            or self._error is not None
            or not all(s.started for s in self.servers)
        ):
            self.stop()
            raise RuntimeError(f"the LLM proxies did not start: {self._error or 'timeout'}")
        for upstream, url in self.urls:
            if directory is not None:
                directory.add(upstream.name, url)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
