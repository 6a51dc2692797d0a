"""What the proxy keeps of a body for its log, and what it reads out of it: the model name and
the provider's own token counts (OpenAI `usage`, Gemini `usageMetadata`), from a plain JSON body
or from the last events of a stream (SSE, or Gemini's streamed JSON array)."""

from __future__ import annotations

import contextlib
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any

TAIL_BYTES = 16 * 1024  # the end of a stream, where the final usage is
_MODEL_IN_PATH = re.compile(r"/models/([^/:?]+)")


def truncated(data: bytes, total: int) -> str:
    """A body cut at the log limit, with a marker saying how much is missing."""
    text = data.decode("utf-8", errors="replace")
    return f"{text}...[truncated {total - len(data)} bytes]"


class BodyCapture:
    """Keeps the head (up to `limit` bytes) and the tail of a body that streams past,
    decoded when it is gzip or deflate encoded; memory is bounded whatever the size."""

    def __init__(self, limit: int, encoding: str = "") -> None:
        self.limit = limit
        self.size = 0  # bytes on the wire
        self.decoded_size = 0
        self.head = bytearray()
        self.tail = b""
        self.decode_error: str | None = None
        self._parsed: tuple[bool, Any] | None = None
        encoding = encoding.strip().lower()
        self._decoder = (
            zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
            if encoding in ("gzip", "x-gzip", "deflate")
            else None
        )

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._decoder is not None and self.decode_error is None:
            try:
                chunk = self._decoder.decompress(chunk)
            except zlib.error as exc:
                self.decode_error = f"cannot decode the response body: {exc}"
                return
        self.decoded_size += len(chunk)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        if self.decoded_size > self.limit:
            self.tail = (self.tail + chunk)[-TAIL_BYTES:]

    @property
    def complete(self) -> bool:
        return self.decoded_size <= self.limit

    def parsed(self) -> tuple[bool, Any]:
        """(True, value) when the whole body is JSON; parsed once."""
        if self._parsed is None:
            self._parsed = (False, None)
            if self.complete and self.head:
                with contextlib.suppress(ValueError):
                    self._parsed = (True, json.loads(self.head))
        return self._parsed

    def for_log(self) -> Any:
        """JSON when it is JSON and whole, else text (cut with a marker past the limit)."""
        if not self.complete:
            return truncated(bytes(self.head), self.decoded_size)
        is_json, value = self.parsed()
        if is_json or not self.head:
            return value
        return self.head.decode("utf-8", errors="replace")

    def last_bytes(self) -> bytes:
        return bytes(self.head) if self.complete else self.tail


@dataclass
class Usage:
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    def merge(self, doc: Any) -> bool:
        """Take what `doc` (one response body or stream event) says; True if it had usage."""
        if not isinstance(doc, dict):
            return False
        model = doc.get("model") or doc.get("modelVersion")
        if isinstance(model, str) and model:
            self.model = model
        found = False
        if isinstance(u := doc.get("usageMetadata"), dict):  # Gemini, Vertex AI
            self.prompt_tokens = _int(u.get("promptTokenCount"))
            self.completion_tokens = _int(u.get("candidatesTokenCount"))
            self.total_tokens = _int(u.get("totalTokenCount"))
            found = True
        elif isinstance(u := doc.get("usage"), dict):  # OpenAI chat, completions, responses
            self.prompt_tokens = _int(u.get("prompt_tokens", u.get("input_tokens")))
            self.completion_tokens = _int(u.get("completion_tokens", u.get("output_tokens")))
            self.total_tokens = _int(u.get("total_tokens"))
            found = True
        elif isinstance(resp := doc.get("response"), dict):  # OpenAI responses stream events
            found = self.merge(resp)
        if found and self.total_tokens is None and self.prompt_tokens is not None:
            self.total_tokens = self.prompt_tokens + (self.completion_tokens or 0)
        return found


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sse_events(data: bytes) -> list[Any]:
    events = []
    for line in data.split(b"\n"):
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload and payload != b"[DONE]":
                try:
                    events.append(json.loads(payload))
                except ValueError:
                    continue  # the first, cut event of a tail
    return events


def read_usage(request_json: Any, path: str, response: BodyCapture, sse: bool) -> Usage:
    usage = Usage()
    if isinstance(request_json, dict) and isinstance(request_json.get("model"), str):
        usage.model = request_json["model"]
    elif m := _MODEL_IN_PATH.search(path):
        usage.model = m.group(1)
    if sse:
        if response.complete:
            events = _sse_events(response.last_bytes())
        else:  # the model is named in the first events, the usage in the last
            events = _sse_events(bytes(response.head)) + _sse_events(response.tail)
        for event in events:
            usage.merge(event)
        return usage
    is_json, doc = response.parsed()
    if not is_json:
        return usage
    for item in doc if isinstance(doc, list) else [doc]:  # Gemini streams a JSON array
        usage.merge(item)
    return usage
