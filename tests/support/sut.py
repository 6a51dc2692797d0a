"""A small real HTTP server that plays the system under test in tests and benchmarks.

Paths:  POST /answer   -> {"answer": <body.query, or the golden answer in ANSWERS>}
        ANY  /status/N -> HTTP N with a JSON body
        ANY  /html     -> 200 text/html
        ANY  /close    -> closes the connection without answering
        ANY  /sleep?s= -> answers after s seconds
        ANY  /flaky?fail=N&key=K -> 503 for the first N calls with key K, then 200
Every request is recorded (method, path, headers, body) for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class SUT:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}
        self.flaky: dict[str, int] = {}
        self._lock = threading.Lock()
        sut = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with sut._lock:
                    sut.requests.append(
                        {
                            "method": self.command,
                            "path": url.path,
                            "query": query,
                            "headers": dict(self.headers),
                            "body": body,
                        }
                    )
                if sut.delay_s:
                    time.sleep(sut.delay_s)
                path = url.path
                if path == "/answer":
                    q = body.get("query") if isinstance(body, dict) else None
                    answer = sut.answers.get(q, q) if isinstance(q, str) else q
                    self._reply(200, json.dumps({"answer": answer, "echo": body}).encode())
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    self._reply(code, json.dumps({"error": f"status {code}"}).encode())
                elif path == "/html":
                    self._reply(200, b"<html><body>not json</body></html>", "text/html")
                elif path == "/close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                elif path == "/sleep":
                    time.sleep(float(query.get("s", "1")))
                    self._reply(200, b'{"answer": "late"}')
                elif path == "/flaky":
                    key = query.get("key", "")
                    with sut._lock:
                        seen = sut.flaky.get(key, 0)
                        sut.flaky[key] = seen + 1
                    if seen < int(query.get("fail", "1")):
                        self._reply(503, b'{"error": "try again"}')
                    else:
                        self._reply(200, json.dumps({"answer": "ok", "calls": seen + 1}).encode())
                else:
                    self._reply(200, json.dumps({"answer": "ok", "echo": body}).encode())

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SUT:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]
