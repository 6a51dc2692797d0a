"""An upstream for proxy tests and benchmarks: a fast asyncio HTTP/1.1 server (keep-alive,
chunked streams) that can also misbehave on purpose. Paths:

    POST /v1/chat/completions   OpenAI-shaped answer with usage; SSE when "stream": true
                                (`?chunks=N&delay=S`, usage chunk when include_usage)
    ANY  /echo                  what arrived: method, target, headers, body size
    ANY  /gzip                  a gzip-encoded OpenAI answer (content-encoding: gzip)
    ANY  /big?n=N               N bytes of JSON-ish text (content-length)
    ANY  /drop                  starts an SSE stream, sends 3 events, closes the socket
    ANY  /hang                  accepts and never answers
    ANY  /status/N              HTTP N with an OpenAI-style error body

Every request is counted in `.hits` (by path) and every connection in `.connections`, so a
test can prove what reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import threading
from collections import Counter
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import uvloop

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def completion(model: str = "gpt-fake") -> dict[str, Any]:
    return {
        "id": "chatcmpl-raw",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello there"},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class RawUpstream:
    def __init__(self, port: int = 0) -> None:
        self.hits: Counter[str] = Counter()
        self.seen: list[dict[str, Any]] = []
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self.loop = uvloop.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.port = port

    def serve_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._closing = asyncio.Event()
        self._ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            self._closing.set()
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0.05)  # the handlers see their connection end and return
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(w)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                size = int(headers.get("content-length") or 0)
                body = await r.readexactly(size) if size else b""
                url = urlsplit(target)
                self.hits[url.path] += 1
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                request = {"method": method, "target": target, "headers": headers, "size": size}
                if await self._answer(w, url.path, query, request, body) is False:
                    break
        self._writers.discard(w)
        w.close()

    async def _answer(
        self,
        w: asyncio.StreamWriter,
        path: str,
        query: dict[str, str],
        request: dict[str, Any],
        body: bytes,
    ) -> bool:
        def send(status: int, data: bytes, ctype: str = "application/json", **extra: str) -> None:
            head = {"content-type": ctype, "content-length": str(len(data)), **extra}
            w.write(_head(status, head) + (b"" if request["method"] == "HEAD" else data))

        if path.startswith("/echo"):
            self.seen.append(request)
            send(200, json.dumps(request).encode())
        elif path == "/gzip":
            send(
                200,
                gzip.compress(json.dumps(completion()).encode()),
                **{"content-encoding": "gzip"},
            )
        elif path == "/big":
            n = int(query.get("n", "1000"))
            send(200, b'"' + b"x" * max(0, n - 2) + b'"')
        elif path == "/hang":
            await self._closing.wait()
            return False
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            error = {"error": {"message": f"status {status}", "type": "server_error"}}
            send(status, json.dumps(error).encode())
        elif path == "/drop":
            w.write(
                _head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"})
            )
            for i in range(3):
                w.write(_chunk(b'data: {"choices":[{"delta":{"content":"%d"}}]}\n\n' % i))
                await w.drain()
            w.transport.abort()
            return False
        else:
            doc = json.loads(body) if body else {}
            if not doc.get("stream"):
                send(200, json.dumps(completion(doc.get("model", "gpt-fake"))).encode())
            else:
                await self._stream(
                    w, doc, int(query.get("chunks", "20")), float(query.get("delay", "0"))
                )
        await w.drain()
        return True

    async def _stream(
        self, w: asyncio.StreamWriter, doc: dict[str, Any], n: int, delay: float
    ) -> None:
        w.write(_head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"}))
        model = doc.get("model", "gpt-fake")
        for i in range(n):
            event = {"model": model, "choices": [{"index": 0, "delta": {"content": f"t{i} "}}]}
            w.write(_chunk(b"data: " + json.dumps(event).encode() + b"\n\n"))
            await w.drain()
            if delay:
                await asyncio.sleep(delay)
        if (doc.get("stream_options") or {}).get("include_usage"):
            event = {"model": model, "choices": [], "usage": USAGE}
            w.write(_chunk(b"data: " + json.dumps(event).encode() + b"\n\n"))
        w.write(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


if __name__ == "__main__":  # the benchmarks' upstream, in a process of its own
    import sys

    upstream = RawUpstream(int(sys.argv[1]))
    upstream.loop.call_soon(lambda: print("ready", flush=True))
    upstream.serve_forever()
