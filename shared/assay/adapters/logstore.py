"""The log store port, and the writer that keeps log writes off the request path.

Adapters: `duckdb_logstore.DuckDBLogStore` (embedded default) and, in production, BigQuery.
`LogWriter` batches rows on a background thread, retries a failed write with backoff, spills a
batch to a file in the data dir when the store stays down, and replays the spill once it is
back: a row is never dropped silently, and a caller never waits for the store.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.models.logs import LogRow, LogTable

log = logging.getLogger(__name__)


class LogStore(ABC):
    @abstractmethod
    def write(self, table: LogTable, rows: list[dict[str, Any]]) -> None:
        """Insert rows (dicts shaped like LogRow); raise on failure."""

    @abstractmethod
    def select(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run one query written in BigQuery's dialect with named `@params` (each query is
        written once: services/proxy_data.py); JSON columns come back as Python values."""

    @abstractmethod
    def ping(self) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for adapters
        """Release connections."""


class LogWriter:
    def __init__(
        self,
        store: LogStore | Callable[[], LogStore],
        spill_dir: Path,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        retries: int = 4,
        backoff_s: float = 0.2,
    ) -> None:
        # A factory is called on the writer's own thread, on first need: a log store that cannot
        # even be built (no BigQuery credentials yet) then fails writes, which are retried and
        # spilled like any other failure, instead of failing the caller that logs.
        self._store: LogStore | None = store if isinstance(store, LogStore) else None
        self._factory = None if isinstance(store, LogStore) else store
        self.spill_dir = Path(spill_dir)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._queue: queue.Queue[tuple[LogTable, dict[str, Any]] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self.written = 0
        self.failed_attempts = 0
        self._thread = threading.Thread(target=self._run, name="assay-log-writer", daemon=True)
        self._thread.start()

    @property
    def store(self) -> LogStore:
        if self._store is None:
            assert self._factory is not None
            self._store = self._factory()
        return self._store

    def submit(self, table: LogTable, row: LogRow | dict[str, Any]) -> None:
        """Queue a row; returns at once."""
        data = row.model_dump(mode="json") if isinstance(row, LogRow) else row
        self._idle.clear()
        self._queue.put((table, data))

    @property
    def backlog(self) -> int:
        return self._queue.qsize() + self.spilled_rows()

    def spilled_rows(self) -> int:
        if not self.spill_dir.exists():
            return 0
        return sum(sum(1 for _ in p.open()) for p in self.spill_dir.glob("*.jsonl"))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row has been written or spilled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.wait(0.05):
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    # -- the background thread ---------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            batch: dict[LogTable, list[dict[str, Any]]] = {}
            try:
                item = self._queue.get(timeout=self.flush_interval_s)
            except queue.Empty:
                self._replay_spill()
                self._idle.set()
                continue
            # Gather for up to flush_interval_s: a write costs milliseconds whatever its size,
            # so rows trickling in one by one must not each become a write of their own; and
            # sleep meanwhile rather than wake for every row (each wake costs the callers' CPU).
            count, deadline = 0, time.monotonic() + self.flush_interval_s
            while item is not None:
                batch.setdefault(item[0], []).append(item[1])
                count += 1
                if count >= self.batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    if (remaining := deadline - time.monotonic()) <= 0:
                        break
                    time.sleep(remaining)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
            if item is None:
                stop = True
            for table, rows in batch.items():
                self._write(table, rows)
            if self._queue.empty():
                self._replay_spill()
                self._idle.set()

    def _write(self, table: LogTable, rows: list[dict[str, Any]], spill: bool = True) -> bool:
        for attempt in range(self.retries):
            try:
                self.store.write(table, rows)
                self.written += len(rows)
                return True
            except Exception as exc:
                self.failed_attempts += 1
                log.warning(
                    "log write of %d rows to %s failed (%s); retrying", len(rows), table, exc
                )
                time.sleep(self.backoff_s * 2**attempt)
        if spill:
            self._spill(table, rows)
        return False

    def _spill(self, table: LogTable, rows: list[dict[str, Any]]) -> None:
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"{table}-{time.time_ns()}.jsonl"
        with path.open("w") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
        log.error(
            "log store down: spilled %d %s rows to %s (replayed when it is back)",
            len(rows),
            table,
            path,
        )

    def _replay_spill(self) -> None:
        if not self.spill_dir.exists():
            return
        for path in sorted(self.spill_dir.glob("*.jsonl")):
            table: LogTable = "litmus_log" if path.name.startswith("litmus_log") else "proxy_log"
            rows = [json.loads(line) for line in path.open() if line.strip()]
            try:
                self.store.write(table, rows)
            except Exception:
                return  # still down; keep the file and try again later
            self.written += len(rows)
            path.unlink()
