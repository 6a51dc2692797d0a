"""Fake LLM providers: small real HTTP servers that speak the OpenAI and Gemini wire protocols.

They stand in for the paid models only; the official SDKs talk to them over real sockets, so a
test exercises the same request building, streaming, retries and error parsing as production.

    with FakeOpenAI() as openai:                  # or FakeOpenAI().start() ... .stop()
        openai.reply_with('{"similarity": 0.9}', prompt_tokens=12, completion_tokens=5)
        settings = Settings(openai_api_key="sk-test", openai_base_url=openai.url + "/v1")
        ...
        assert openai.requests[-1].body["temperature"] == 0.0

Both fakes answer every model; `reply_with(..., model=..., when=...)` scripts one model only,
or only prompts whose last user message contains `when` (the newest matching script wins).
Without a script they echo the last user message as `[fake MODEL] ...`. `fail_with(status)`
answers with the provider's error format (for `times` requests, or until `reset()`),
`reply_malformed()` answers 200 with a body that is not JSON. Every request is recorded in
`.requests` (`.last` is the newest).

FakeOpenAI:  POST /v1/chat/completions (plain JSON; SSE with `data: [DONE]` when `stream`, plus
             a usage chunk when `stream_options.include_usage`).
FakeGemini:  POST /{version}/models/{model}:generateContent and :streamGenerateContent?alt=sse,
             and the Vertex AI form /{version}/projects/{p}/locations/{l}/publishers/google/
             models/{model}:...; `adc_file(dir)` writes Google credentials for the Vertex tests.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlparse

_PIECE = re.compile(r"\S+\s*")
_GEMINI_PATH = re.compile(
    r"^/(?P<version>[^/]+)/(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
    r"publishers/google/)?models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$"
)
VERTEX_TOKEN = "fake-vertex-access-token"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any


@dataclass
class Reply:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunks: list[str] | None = None
    delay_s: float = 0.0

    def pieces(self) -> list[str]:
        return self.chunks if self.chunks is not None else (_PIECE.findall(self.text) or [""])

    def token_counts(self, prompt_texts: list[str]) -> tuple[int, int]:
        """(prompt, completion): the scripted counts, else word counts."""
        prompt = self.prompt_tokens
        if prompt is None:
            prompt = sum(word_count(t) for t in prompt_texts)
        completion = self.completion_tokens
        return prompt, word_count(self.text) if completion is None else completion


@dataclass
class Failure:
    status: int
    message: str
    times: int | None  # None: until reset()


@dataclass
class Rule:
    model: str | None
    when: str | None
    reply: Reply


@dataclass
class _Script:
    rules: list[Rule] = field(default_factory=list)
    failure: Failure | None = None
    malformed: bool = False


def word_count(text: str) -> int:
    return len(text.split())


class FakeLLMServer:
    """The HTTP plumbing shared by the fakes: a threaded server on a free port, a script, a log."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script = _Script()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- script ----------------------------------------------------------------------------
    def reply_with(
        self,
        text: str,
        *,
        model: str | None = None,
        when: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        chunks: list[str] | None = None,
        delay_s: float = 0.0,
    ) -> Self:
        """Answer `text` (only to `model`, and only when the last user message contains `when`,
        if given). Streams send `chunks` (default: word by word) `delay_s` apart. Token counts
        default to word counts."""
        reply = Reply(text, prompt_tokens, completion_tokens, chunks, delay_s)
        with self._lock:
            self._script.rules.insert(0, Rule(model, when, reply))
        return self

    def fail_with(self, status: int, *, times: int | None = None, message: str = "") -> Self:
        """Answer HTTP `status` in the provider's error format, for the next `times` requests
        (None: until `reset()`). `{api_key}` in `message` becomes the key the caller sent, as
        real providers echo a (partly masked) key back on 401."""
        with self._lock:
            self._script.failure = Failure(status, message or f"fake {status} error", times)
        return self

    def reply_malformed(self) -> Self:
        """Answer 200 with a body that is not JSON."""
        with self._lock:
            self._script.malformed = True
        return self

    def reset(self) -> Self:
        with self._lock:
            self._script = _Script()
            self.requests.clear()
        return self

    @property
    def last(self) -> Recorded:
        with self._lock:
            return self.requests[-1]

    # -- protocol hooks (per provider) ------------------------------------------------------
    def route(self, h: BaseHTTPRequestHandler, req: Recorded) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    def api_key(self, req: Recorded) -> str:
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        url = urlparse(h.path)
        req = Recorded(
            method=h.command,
            path=url.path,
            query={k: v[0] for k, v in parse_qs(url.query).items()},
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(req)
            failure, malformed = self._script.failure, self._script.malformed
            if failure is not None and failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._script.failure = None
        if failure is not None:
            message = failure.message.replace("{api_key}", self.api_key(req))
            # retry-after-ms keeps the OpenAI SDK's retries fast; Google's SDK ignores it.
            self.send_json(
                h,
                failure.status,
                self.error_body(failure.status, message),
                {"retry-after-ms": "10"},
            )
        elif malformed:
            self.send_raw(h, 200, b"{this is not json", "application/json")
        else:
            self.route(h, req)

    def reply_for(self, model: str, prompt: str) -> Reply:
        with self._lock:
            for rule in self._script.rules:
                if rule.model in (None, model) and (rule.when is None or rule.when in prompt):
                    return rule.reply
        return Reply(f"[fake {model}] {prompt}")

    def send_raw(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def send_json(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_raw(h, status, json.dumps(payload).encode(), "application/json", headers)

    def send_sse(
        self, h: BaseHTTPRequestHandler, events: list[Any], delay_s: float, done: bool
    ) -> None:
        """Server-sent events over chunked encoding, flushed one by one (no buffering)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        frames = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
        if done:
            frames.append(b"data: [DONE]\n\n")
        for i, frame in enumerate(frames):
            if i and delay_s:
                time.sleep(delay_s)
            h.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            h.wfile.flush()
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    def path_not_found(self, h: BaseHTTPRequestHandler, req: Recorded) -> None:
        self.send_json(h, 404, self.error_body(404, f"{self.name}: no route for {req.path}"))


class FakeOpenAI(FakeLLMServer):
    """The OpenAI chat-completions API; point the SDK's base_url at `url + "/v1"`."""

    name = "fake-openai"

    def api_key(self, req: Recorded) -> str:
        return req.headers.get("authorization", "").removeprefix("Bearer ")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": kind}}

    def route(self, h: BaseHTTPRequestHandler, req: Recorded) -> None:
        if req.path.rstrip("/") != "/v1/chat/completions" or not isinstance(req.body, dict):
            return self.path_not_found(h, req)
        model = str(req.body.get("model", ""))
        messages = req.body.get("messages") or []
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        reply = self.reply_for(model, last_user)
        prompt, completion = reply.token_counts([str(m.get("content", "")) for m in messages])
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": model}
        if not req.body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": "stop",
            }
            payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            return self.send_json(h, 200, payload)
        chunk = {**base, "object": "chat.completion.chunk"}
        events = [
            {**chunk, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            for piece in reply.pieces()
        ]
        events[0]["choices"][0]["delta"]["role"] = "assistant"
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (req.body.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk, "choices": [], "usage": usage})
        self.send_sse(h, events, reply.delay_s, done=True)


class FakeGemini(FakeLLMServer):
    """The Gemini API and its Vertex AI form; point `http_options.base_url` at `url`."""

    name = "fake-gemini"

    def api_key(self, req: Recorded) -> str:
        return req.headers.get("x-goog-api-key", "")

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {
            400: "INVALID_ARGUMENT",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED",
        }
        return {
            "error": {"code": status, "message": message, "status": kind.get(status, "INTERNAL")}
        }

    def adc_file(self, directory: Path) -> Path:
        """Application Default Credentials holding a valid access token, so the Vertex client
        authenticates without reaching Google (point GOOGLE_APPLICATION_CREDENTIALS at it)."""
        path = Path(directory) / "fake-adc.json"
        expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        path.write_text(
            json.dumps(
                {
                    "type": "authorized_user",
                    "client_id": "fake-client",
                    "client_secret": "fake-secret",
                    "refresh_token": "fake-refresh",
                    "token": VERTEX_TOKEN,
                    "expiry": expiry,
                }
            )
        )
        return path

    def route(self, h: BaseHTTPRequestHandler, req: Recorded) -> None:
        match = _GEMINI_PATH.match(req.path)
        if match is None or not isinstance(req.body, dict):
            return self.path_not_found(h, req)
        model = match["model"]
        contents = req.body.get("contents") or []
        texts = [p.get("text", "") for c in contents for p in c.get("parts", [])]
        system = req.body.get("systemInstruction") or {}
        system_texts = [p.get("text", "") for p in system.get("parts", [])]
        user = [p.get("text", "") for c in contents if c.get("role") == "user" for p in c["parts"]]
        reply = self.reply_for(model, user[-1] if user else "")
        prompt, completion = reply.token_counts(texts + system_texts)

        def response(text: str, candidates_tokens: int, final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": [{"text": text}]},
                "index": 0,
            }
            if final:
                candidate["finishReason"] = "STOP"
            return {
                "candidates": [candidate],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": candidates_tokens,
                    "totalTokenCount": prompt + candidates_tokens,
                },
                "modelVersion": model,
            }

        if match["method"] == "generateContent":
            return self.send_json(h, 200, response(reply.text, completion, final=True))
        pieces = reply.pieces()
        last = len(pieces) - 1
        # Like Gemini, every chunk carries usage so far; the last one has the totals.
        events = [
            response(piece, completion if i == last else min(i + 1, completion), i == last)
            for i, piece in enumerate(pieces)
        ]
        self.send_sse(h, events, reply.delay_s, done=False)
