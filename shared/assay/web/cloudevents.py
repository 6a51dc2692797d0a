"""Pub/Sub CloudEvents at the edge: decode once, so the worker sees one message type."""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any

from assay.adapters.queue import DEAD_LETTER_ATTRIBUTE, DEAD_LETTER_COUNT_ATTRIBUTE

if TYPE_CHECKING:  # the models load with the first message, not with main.py (cold start)
    from assay.models.litmus import CaseMessage

log = logging.getLogger(__name__)


def decode_case_message(data: Any) -> tuple[CaseMessage | None, int | None]:
    """(message, dead_letter_after) from a `messagePublished` CloudEvent's data.

    A message that cannot be decoded is logged and returned as None: redelivering it would
    never succeed, so it is acknowledged rather than retried forever."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        log.error("worker: event without a Pub/Sub message: %r", str(data)[:200])
        return None, None
    from pydantic import ValidationError

    from assay.models.litmus import CaseMessage

    message = data["message"]
    attributes = message.get("attributes") or {}
    try:
        raw = base64.b64decode(message.get("data") or "")
        case = CaseMessage.model_validate_json(raw)
    except (ValueError, ValidationError) as exc:
        log.error("worker: undecodable message %s: %s", message.get("messageId"), exc)
        return None, None
    dead = None
    if DEAD_LETTER_ATTRIBUTE in attributes:
        try:
            dead = int(attributes.get(DEAD_LETTER_COUNT_ATTRIBUTE, "0"))
        except ValueError:
            dead = 0
    return case, dead


def handle_case_event(event: Any) -> None:
    from assay.bootstrap import container

    case, dead = decode_case_message(event.data)
    if case is not None:
        container().case_runner.handle(case, dead_letter_after=dead)
