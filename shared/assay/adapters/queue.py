"""The queue port: one message per test case.

Adapters: `local_queue.LocalQueue` (durable SQLite queue with delivery threads, embedded
default) and `pubsub_queue.PubSubQueue` (a Pub/Sub topic pushed to the worker function).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

# Pub/Sub adds these to a message it moves to a dead-letter topic; the local queue does the same,
# so the worker recognises a case whose deliveries are exhausted the same way in both.
DEAD_LETTER_ATTRIBUTE = "CloudPubSubDeadLetterSourceSubscription"
DEAD_LETTER_COUNT_ATTRIBUTE = "CloudPubSubDeadLetterSourceDeliveryCount"


@dataclass(frozen=True)
class Message:
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = ""
    publish_time: str = ""
    delivery_attempt: int = 1


class Queue(ABC):
    @abstractmethod
    def publish(self, payloads: list[bytes], attributes: dict[str, str] | None = None) -> None:
        """Publish every payload or raise Unavailable (never a silent partial publish)."""

    @abstractmethod
    def depth(self) -> int:
        """Messages published and not yet acknowledged (-1 when the backend cannot tell)."""

    @abstractmethod
    def ping(self) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for adapters
        """Stop delivering and release resources."""
