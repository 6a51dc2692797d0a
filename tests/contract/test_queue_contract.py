"""The local queue keeps the queue port's promises the way Pub/Sub does: at-least-once delivery,
nothing lost across a restart or a kill -9, retries with backoff, then one dead-lettered
delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from assay.adapters.local_queue import LocalQueue
from assay.adapters.queue import DEAD_LETTER_ATTRIBUTE, DEAD_LETTER_COUNT_ATTRIBUTE, Message

REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Recorder:
    """A deliver callback that records every delivery; `fail(m)` says whether to fail it."""

    def __init__(self, fail: Callable[[Message], bool] = lambda m: False) -> None:
        self.fail = fail
        self.deliveries: list[tuple[float, Message]] = []
        self.lock = threading.Lock()

    def __call__(self, message: Message) -> bool:
        with self.lock:
            self.deliveries.append((time.monotonic(), message))
        return not self.fail(message)

    def of(self, data: bytes) -> list[tuple[float, Message]]:
        with self.lock:
            return [(t, m) for t, m in self.deliveries if m.data == data]

    @property
    def payloads(self) -> list[bytes]:
        with self.lock:
            return [m.data for _, m in self.deliveries]


@pytest.fixture()
def queues(tmp_path: Path) -> Iterator[Callable[..., LocalQueue]]:
    opened: list[LocalQueue] = []

    def open_queue(**kwargs: Any) -> LocalQueue:
        options = {"backoff_s": 0.02, "max_backoff_s": 0.2, **kwargs}
        queue = LocalQueue(tmp_path / "queue.db", **options)
        opened.append(queue)
        return queue

    yield open_queue
    for queue in opened:
        queue.close()  # closing twice is harmless


def test_every_message_is_delivered_and_acknowledged(queues) -> None:
    queue = queues()
    payloads = [f"m{i}".encode() for i in range(50)]
    queue.publish(payloads, {"kind": "case"})
    assert queue.depth() == 50
    recorder = Recorder()
    queue.start(recorder, concurrency=4)
    wait_until(lambda: queue.depth() == 0)
    assert sorted(recorder.payloads) == sorted(payloads)
    assert all(m.attributes == {"kind": "case"} for _, m in recorder.deliveries)
    assert all(m.delivery_attempt == 1 and m.publish_time for _, m in recorder.deliveries)


def test_unacknowledged_messages_survive_close_and_reopen(queues) -> None:
    first = queues()
    first.publish([b"a", b"b", b"c"])
    failing = Recorder(fail=lambda m: True)
    first.start(failing, concurrency=2)
    wait_until(lambda: len(failing.deliveries) >= 3)
    first.close()
    assert failing.deliveries  # delivered, never acknowledged

    second = queues()
    assert second.depth() == 3
    recorder = Recorder()
    second.start(recorder, concurrency=2)
    wait_until(lambda: second.depth() == 0)
    assert sorted(set(recorder.payloads)) == [b"a", b"b", b"c"]


def test_a_message_in_flight_at_kill_9_is_delivered_again(tmp_path: Path) -> None:
    """A process that dies mid-delivery leaves the message leased; the next start frees it."""
    path = tmp_path / "queue.db"
    started = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from assay.adapters.local_queue import LocalQueue
        queue = LocalQueue(pathlib.Path({str(path)!r}))
        queue.publish([b"in-flight"])
        def deliver(message):
            pathlib.Path({str(started)!r}).write_text(message.data.decode())
            time.sleep(60)
            return True
        queue.start(deliver, concurrency=1)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, start_new_session=True)
    try:
        wait_until(started.exists, timeout=30)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    queue = LocalQueue(path, backoff_s=0.02)
    try:
        assert queue.depth() == 1
        recorder = Recorder()
        queue.start(recorder, concurrency=1)
        wait_until(lambda: queue.depth() == 0)
        assert recorder.payloads == [b"in-flight"]
        assert recorder.deliveries[0][1].delivery_attempt == 2
    finally:
        queue.close()


def test_failed_deliveries_are_retried_with_backoff(queues) -> None:
    queue = queues(backoff_s=0.05, max_backoff_s=1.0)
    recorder = Recorder(fail=lambda m: m.data == b"flaky" and m.delivery_attempt < 3)
    queue.publish([b"flaky", b"fine"])
    queue.start(recorder, concurrency=2)
    wait_until(lambda: queue.depth() == 0)
    attempts = recorder.of(b"flaky")
    assert [m.delivery_attempt for _, m in attempts] == [1, 2, 3]
    gaps = [
        later - earlier for (earlier, _), (later, _) in zip(attempts, attempts[1:], strict=False)
    ]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # exponential: 0.05 s, then 0.1 s
    assert len(recorder.of(b"fine")) == 1
    assert not any(DEAD_LETTER_ATTRIBUTE in m.attributes for _, m in recorder.deliveries)


def test_after_max_deliveries_one_dead_lettered_delivery(queues) -> None:
    queue = queues(max_deliveries=3)
    recorder = Recorder(fail=lambda m: True)
    queue.publish([b"doomed"], {"run": "r1"})
    queue.start(recorder, concurrency=1)
    wait_until(lambda: queue.depth() == 0)
    time.sleep(0.3)  # longer than the backoff: a further delivery would have come by now
    deliveries = [m for _, m in recorder.of(b"doomed")]
    assert len(deliveries) == 4
    assert all(DEAD_LETTER_ATTRIBUTE not in m.attributes for m in deliveries[:3])
    dead = deliveries[3]
    assert dead.attributes[DEAD_LETTER_ATTRIBUTE] == queue.subscription
    assert dead.attributes[DEAD_LETTER_COUNT_ATTRIBUTE] == "3"
    assert dead.attributes["run"] == "r1"


def test_depth_counts_what_is_not_yet_acknowledged(queues) -> None:
    queue = queues()
    assert queue.depth() == 0
    queue.publish([b"1", b"2"])
    queue.publish([b"3"])
    assert queue.depth() == 3
    gate = threading.Event()
    held: list[bytes] = []

    def deliver(message: Message) -> bool:
        held.append(message.data)
        return gate.wait(10)

    queue.start(deliver, concurrency=3)
    wait_until(lambda: len(held) == 3)
    assert queue.depth() == 3  # delivered but not yet acknowledged
    gate.set()
    wait_until(lambda: queue.depth() == 0)
