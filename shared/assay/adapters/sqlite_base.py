"""SQLite plumbing shared by the embedded adapters: WAL, one writer, a reader per thread."""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assay.errors import Unavailable


class SQLiteDB:
    """Writes go through one connection under a lock (SQLite has one writer anyway, and a
    Python lock hands over far faster than SQLite's sleeping busy handler); reads take a
    connection from a pool (WAL lets them run beside the writer). A pool rather than one per
    thread: the HTTP server starts a thread per request, and opening a connection costs more
    than most queries."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.executescript(schema)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot open {self.path.name}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._readers.put(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction; rolled back on any exception."""
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise Unavailable(f"store busy: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        try:
            with self.reader() as conn:
                return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"store query failed: {exc}") from exc

    def close(self) -> None:
        self._writer.close()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                return
