"""The production queue: a Pub/Sub topic, pushed to the worker function (see infra/)."""

from __future__ import annotations

from typing import Any

from assay.adapters.queue import Queue
from assay.errors import Unavailable


class PubSubQueue(Queue):
    """Batched publishing; `publish` returns only when Pub/Sub has accepted every message."""

    def __init__(self, project: str, topic: str, *, timeout_s: float = 60.0) -> None:
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # heavy: built lazily

        self._publisher = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(
                max_messages=1000, max_bytes=9 * 1024 * 1024, max_latency=0.01
            )
        )
        self.topic_path = self._publisher.topic_path(project, topic)
        self.timeout_s = timeout_s

    def publish(self, payloads: list[bytes], attributes: dict[str, str] | None = None) -> None:
        futures: list[Any] = [
            self._publisher.publish(self.topic_path, p, **(attributes or {})) for p in payloads
        ]
        try:
            for f in futures:
                f.result(timeout=self.timeout_s)
        except Exception as exc:
            raise Unavailable(f"publishing to {self.topic_path} failed: {exc}") from exc

    def depth(self) -> int:
        # Backlog size lives in Cloud Monitoring, not in the Pub/Sub API: unknown here.
        return -1

    def ping(self) -> None:
        try:
            self._publisher.get_topic(request={"topic": self.topic_path}, timeout=5)
        except Exception as exc:
            raise Unavailable(f"Pub/Sub topic {self.topic_path} unreachable: {exc}") from exc

    def close(self) -> None:
        self._publisher.stop()
