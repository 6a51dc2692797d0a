"""`assay serve` with LLM proxies in front of fake upstreams, and reading the log back."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulators import free_port
from tests.support.fake_llm import FakeGemini, FakeOpenAI
from tests.support.raw_upstream import RawUpstream
from tests.support.server import ServeProcess, serving

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
        }
        with serving(data_dir, env) as serve:
            yield ProxyStack(serve, upstreams, raw)
