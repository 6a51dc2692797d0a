"""`assay serve` with LLM proxies in front of fake upstreams, and reading the log back."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulators import free_port
from tests.support.fake_llm import FakeGemini, FakeOpenAI
from tests.support.raw_upstream import RawUpstream
from tests.support.server import ServeProcess

PROXY_TIMEOUT_S = 1.5


class ProxyStack:
    def __init__(self, serve: ServeProcess, upstreams: dict[str, str], raw: RawUpstream) -> None:
        self.serve = serve
        self.upstreams = upstreams
        self.raw = raw

    def url(self, name: str) -> str:
        """The local proxy of upstream `name` (assay serve: the ports after its own)."""
        return f"http://127.0.0.1:{self.serve.port + 1 + list(self.upstreams).index(name)}"

    def client(self) -> httpx.Client:
        return self.serve.client()

    def rows(
        self,
        context: str,
        *,
        count: int = 1,
        path: str = "/proxy/data",
        timeout: float = 10.0,
        **params: Any,
    ) -> list[dict[str, Any]]:
        """The logged rows of `context` once there are `count` (rows are written off the request
        path, so they appear a moment after the response)."""
        deadline = time.monotonic() + timeout
        with self.client() as api:
            while True:
                r = api.get(path, params={"date": today(), "context": context, **params})
                assert r.status_code == 200, r.text
                if len(r.json()) >= count or time.monotonic() > deadline:
                    return list(r.json())
                time.sleep(0.05)


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


@contextlib.contextmanager
def proxy_stack(data_dir: Path, openai: FakeOpenAI, gemini: FakeGemini) -> Iterator[ProxyStack]:
    with RawUpstream() as raw:
        upstreams = {
            "openai": openai.url,
            "gemini": gemini.url,
            "raw": raw.url,
            "refused": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        }
        env = {
            "ASSAY_PROXY_UPSTREAMS": ",".join(f"{k}={v}" for k, v in upstreams.items()),
            "ASSAY_PROXY_TIMEOUT": str(PROXY_TIMEOUT_S),
            "ASSAY_PROXY_LOG_BODY_LIMIT": "65536",
            "ASSAY_PROXY_MAX_BODY_BYTES": str(8 << 20),
        }
        serve = _start(data_dir, env, len(upstreams))
        try:
            yield ProxyStack(serve, upstreams, raw)
        finally:
            serve.stop()


def _start(data_dir: Path, env: dict[str, str], proxies: int) -> ServeProcess:
    """`assay serve` on a port whose next `proxies` ports are free too (they may be taken in
    the meantime by another server: then again, elsewhere)."""
    for attempt in range(5):
        port = free_port()
        if not all(_free(port + i) for i in range(1, proxies + 1)):
            continue
        try:
            return ServeProcess(data_dir, env, port).start()
        except RuntimeError:
            if attempt == 4:
                raise
    raise RuntimeError("no run of free ports for assay serve and its proxies")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
