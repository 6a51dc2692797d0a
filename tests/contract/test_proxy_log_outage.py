"""The log store goes down while calls go through the proxy: every call still succeeds, and once
the store is back every row arrives exactly once (the proxy served by uvicorn on a real port,
logging through the real LogWriter into DuckDB behind a switch)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from assay.adapters.duckdb_logstore import DuckDBLogStore
from assay.adapters.logstore import LogStore, LogWriter
from assay.models.logs import LogTable
from assay.services.proxy import Proxy, ProxyConfig
from assay.services.proxy_data import logged_calls

from tests.support.emulators import free_port
from tests.support.raw_upstream import RawUpstream


class SwitchedStore(LogStore):
    """A real store that can be switched off: every call fails while it is down."""

    def __init__(self, store: DuckDBLogStore) -> None:
        self.store = store
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("log store unreachable")

    def write(self, table: LogTable, rows: list[dict[str, Any]]) -> None:
        self._check()
        self.store.write(table, rows)

    def select(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._check()
        return self.store.select(sql, params)

    def ping(self) -> None:
        self._check()


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, SwitchedStore, LogWriter]]:
    store = SwitchedStore(DuckDBLogStore(tmp_path / "logs.duckdb"))
    writer = LogWriter(store, tmp_path / "spill", retries=2, backoff_s=0.01, flush_interval_s=0.05)
    with RawUpstream() as upstream:
        port = free_port()
        proxy = Proxy(ProxyConfig(upstream.url), writer)
        server = uvicorn.Server(
            uvicorn.Config(proxy, port=port, lifespan="off", log_level="warning", http="httptools")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", store, writer
        server.should_exit = True
        thread.join(10)
    writer.close()


def test_calls_succeed_while_the_log_store_is_down_and_every_row_arrives_once(
    served: tuple[str, SwitchedStore, LogWriter],
) -> None:
    url, store, writer = served
    context = f"outage-{uuid.uuid4().hex[:8]}"
    store.down = True
    with httpx.Client(base_url=f"{url}/litmus-context-{context}") as client:
        for i in range(150):
            r = client.post("/v1/chat/completions", json={"model": f"m{i}", "messages": []})
            assert r.status_code == 200
    deadline = time.monotonic() + 10
    while writer.spilled_rows() < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.backlog == 150, "nothing written, nothing lost: all of it waits on disk"

    store.down = False
    deadline = time.monotonic() + 20
    while writer.backlog and time.monotonic() < deadline:
        time.sleep(0.05)
    assert writer.backlog == 0
    day = datetime.now(UTC).date()
    rows = logged_calls(store, "proxy_log", day, context, limit=1000)
    assert len(rows) == 150
    assert len({r["id"] for r in rows}) == 150
    assert {r["model"] for r in rows} == {f"m{i}" for i in range(150)}
