"""A durable local queue: SQLite-backed, at-least-once, with delivery threads.

Messages survive a crash: a message is deleted only after its delivery succeeded, so a
`kill -9` mid-run leaves unacknowledged messages to be delivered again on the next start
(the worker is idempotent). Failed deliveries back off exponentially; after
`max_deliveries` the message is delivered once more marked as dead-lettered, as Pub/Sub does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assay.adapters.queue import (
    DEAD_LETTER_ATTRIBUTE,
    DEAD_LETTER_COUNT_ATTRIBUTE,
    Message,
    Queue,
)
from assay.adapters.sqlite_base import SQLiteDB
from assay.timeutil import now_iso

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, data BLOB NOT NULL,
  attributes TEXT NOT NULL, publish_time TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  available_at REAL NOT NULL, leased INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (leased, available_at);
"""

Deliver = Callable[[Message], bool]


class LocalQueue(Queue):
    def __init__(
        self,
        path: Path,
        *,
        subscription: str = "projects/local/subscriptions/assay-worker",
        max_deliveries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.db = SQLiteDB(path, SCHEMA)
        self.subscription = subscription
        self.max_deliveries = max_deliveries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        # Acks are applied in batches by the dispatcher: one transaction for many messages. An
        # ack lost in a crash only means a redelivery, which the worker ignores.
        self._acks: list[int] = []
        self._acks_lock = threading.Lock()

    # -- publishing ------------------------------------------------------------------------
    def publish(self, payloads: list[bytes], attributes: dict[str, str] | None = None) -> None:
        attrs = json.dumps(attributes or {})
        now, stamp = time.time(), now_iso()
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO messages (message_id, data, attributes, publish_time, available_at) "
                "VALUES (?,?,?,?,?)",
                [(uuid.uuid4().hex, p, attrs, stamp, now) for p in payloads],
            )
        with self._wake:
            self._wake.notify_all()

    def depth(self) -> int:
        with self._acks_lock:
            pending_acks = len(self._acks)
        return int(self.db.query("SELECT count(*) FROM messages")[0][0]) - pending_acks

    def ping(self) -> None:
        self.db.query("SELECT 1")

    # -- delivery --------------------------------------------------------------------------
    def start(self, deliver: Deliver, concurrency: int) -> None:
        """Deliver messages to `deliver` on `concurrency` threads until close()."""
        with self.db.write() as conn:  # leases of a previous process died with it
            conn.execute("UPDATE messages SET leased=0 WHERE leased=1")
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="assay-queue")
        slots = threading.Semaphore(concurrency)
        thread = threading.Thread(
            target=self._dispatch,
            args=(deliver, slots, concurrency),
            name="assay-queue-dispatch",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def _flush_acks(self) -> None:
        with self._acks_lock:
            acks, self._acks = self._acks, []
        if acks:
            with self.db.write() as conn:
                conn.executemany("DELETE FROM messages WHERE seq=?", [(seq,) for seq in acks])

    def _claim(self, limit: int) -> list[Message]:
        now = time.time()
        self._flush_acks()
        with self.db.write() as conn:
            rows = conn.execute(
                "SELECT seq, message_id, data, attributes, publish_time, attempts, dead FROM messages "
                "WHERE leased=0 AND available_at<=? ORDER BY available_at, seq LIMIT ?",
                (now, limit),
            ).fetchall()
            if rows:
                conn.executemany(
                    "UPDATE messages SET leased=1, attempts=attempts+1 WHERE seq=?",
                    [(r["seq"],) for r in rows],
                )
        out = []
        for r in rows:
            attributes = json.loads(r["attributes"])
            if r["dead"]:
                attributes[DEAD_LETTER_ATTRIBUTE] = self.subscription
                attributes[DEAD_LETTER_COUNT_ATTRIBUTE] = str(r["attempts"])
            out.append(
                Message(
                    data=bytes(r["data"]),
                    attributes=attributes,
                    message_id=f"{r['seq']}",
                    publish_time=r["publish_time"],
                    delivery_attempt=r["attempts"] + 1,
                )
            )
        return out

    def _next_wait(self) -> float:
        rows = self.db.query("SELECT min(available_at) FROM messages WHERE leased=0")
        nxt = rows[0][0]
        return 0.5 if nxt is None else max(0.0, min(0.5, nxt - time.time()))

    def _dispatch(self, deliver: Deliver, slots: threading.Semaphore, concurrency: int) -> None:
        assert self._pool is not None
        while not self._stop.is_set():
            if not slots.acquire(timeout=0.2):
                continue
            free = 1
            while free < concurrency and slots.acquire(blocking=False):
                free += 1
            try:
                batch = self._claim(free)
            except Exception:  # the store may be briefly unavailable; try again
                log.exception("local queue: claim failed")
                batch = []
            for _ in range(free - len(batch)):
                slots.release()
            for message in batch:
                self._pool.submit(self._deliver_one, deliver, message, slots)
            if not batch:
                with self._wake:
                    self._wake.wait(self._next_wait())

    def _deliver_one(self, deliver: Deliver, message: Message, slots: threading.Semaphore) -> None:
        try:
            ok = deliver(message)
        except Exception:
            log.exception("local queue: delivery of %s raised", message.message_id)
            ok = False
        try:
            self._settle(message, ok)
        finally:
            slots.release()

    def _settle(self, message: Message, ok: bool) -> None:
        seq = int(message.message_id)
        if ok or DEAD_LETTER_ATTRIBUTE in message.attributes:
            # A dead letter is delivered once; its outcome is final either way.
            with self._acks_lock:
                self._acks.append(seq)
            with self._wake:
                self._wake.notify_all()
            return
        with self.db.write() as conn:
            attempts = conn.execute("SELECT attempts FROM messages WHERE seq=?", (seq,)).fetchone()[
                0
            ]
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempts - 1))
            conn.execute(
                "UPDATE messages SET leased=0, available_at=?, dead=? WHERE seq=?",
                (time.time() + delay, int(attempts >= self.max_deliveries), seq),
            )
        if not ok:
            log.warning(
                "local queue: delivery %s failed (attempt %s)", seq, message.delivery_attempt
            )

    def close(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
        for t in self._threads:
            t.join(timeout=5)
        self._flush_acks()
        self.db.close()
