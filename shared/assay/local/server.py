"""`assay serve`: every function in one process, each built by functions-framework's own
`create_app`, behind one WSGI gateway that routes by the shared routing table. The local
queue's delivery threads hand real CloudEvents to the worker function's app."""

from __future__ import annotations

import base64
import gc
import io
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request

from assay.adapters.proxy_directory import LocalProxies
from assay.adapters.queue import Message
from assay.web.app import handle, url_map
from assay.web.routes import EVENT_FUNCTIONS, ROUTES, functions

if TYPE_CHECKING:
    from assay.bootstrap import Container
    from assay.local.proxies import ProxyServers

log = logging.getLogger("assay.serve")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"


def functions_dir() -> Path:
    """functions/ beside the package in a checkout, else under the working directory."""
    here = Path(__file__).resolve().parents[3] / "functions"
    return here if here.is_dir() else Path.cwd() / "functions"


def build_apps(source_dir: Path | None = None) -> dict[str, WSGIApp]:
    import functions_framework

    source_dir = source_dir or functions_dir()
    apps: dict[str, WSGIApp] = {}
    for name in functions():
        apps[name] = functions_framework.create_app(
            name, str(source_dir / name / "main.py"), "http"
        )
    for name, target in EVENT_FUNCTIONS.items():
        apps[name] = functions_framework.create_app(
            target, str(source_dir / name / "main.py"), "cloudevent"
        )
    return apps


class Gateway:
    """Routes a request to the function that owns its path, unchanged (as the load balancer's
    URL map does in production). Unknown paths get the API's own 404/405."""

    def __init__(self, apps: dict[str, WSGIApp]) -> None:
        self.apps = apps
        self.map = url_map(ROUTES)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            route, _ = self.map.bind_to_environ(environ).match()
        except HTTPException:
            return handle(None, Request(environ))(environ, start_response)
        return self.apps[route.function](environ, start_response)


class WorkerDelivery:
    """Delivers queue messages to the worker function as Pub/Sub CloudEvents (binary mode,
    the push envelope as data), exactly what Eventarc sends in production."""

    def __init__(
        self, worker_app: WSGIApp, topic: str = "projects/local/topics/assay-test-cases"
    ) -> None:
        self.app = worker_app
        self.topic = topic
        self._local = threading.local()

    def __call__(self, message: Message) -> bool:
        envelope = {
            "message": {
                "data": base64.b64encode(message.data).decode(),
                "attributes": message.attributes,
                "messageId": message.message_id,
                "publishTime": message.publish_time,
            },
            "subscription": "projects/local/subscriptions/assay-worker",
        }
        body = json.dumps(envelope).encode()
        # A plain WSGI environ: werkzeug's test Client would add cookies and response wrapping
        # that cost more than the delivery itself.
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CE_ID": message.message_id,
            "HTTP_CE_SPECVERSION": "1.0",
            "HTTP_CE_SOURCE": f"//pubsub.googleapis.com/{self.topic}",
            "HTTP_CE_TYPE": PUBSUB_EVENT,
            "HTTP_CE_TIME": message.publish_time,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(
            line: str, headers: Any, exc_info: Any = None
        ) -> Callable[[bytes], None]:
            status.append(line)
            return lambda _: None

        result = self.app(environ, start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return bool(status) and status[0][:1] == "2"


class LocalServer:
    def __init__(self, host: str, port: int, *, concurrency: int) -> None:
        from assay.adapters.local_queue import LocalQueue
        from assay.bootstrap import container

        self.container = container()
        self.apps = build_apps()
        self.gateway = Gateway(self.apps)
        self.http: BaseWSGIServer = make_server(host, port, self.gateway, threaded=True)
        self.http.daemon_threads = True  # type: ignore[attr-defined]  # threaded server
        self.url = f"http://{host}:{self.http.server_port}"
        queue = self.container.queue
        self.queue = queue if isinstance(queue, LocalQueue) else None
        self.concurrency = concurrency
        self.proxies = _proxy_servers(host, self.http.server_port, self.container)

    def urls(self) -> list[tuple[str, str]]:
        out = []
        for name in functions():
            prefixes = sorted(
                {"/" + r.rule.strip("/").split("/")[0] for r in ROUTES if r.function == name}
            )
            out.append((name, ", ".join(self.url + p for p in prefixes)))
        out.append(("worker", "(Pub/Sub CloudEvents from the local queue)"))
        if self.proxies is not None:
            out += [(f"proxy {u.name}", f"{url} -> {u.url}") for u, url in self.proxies.urls]
        return out

    def start_background(self) -> None:
        # Build the adapters now, so /health answers 200 only when everything is ready.
        self.container.store.ping()
        self.container.logstore.ping()
        _ = self.container.case_runner  # warm: the first case should not pay for the setup
        # Everything built so far lives as long as the process: keep it out of the cyclic GC's
        # scans (they cost ~0.5 ms of CPU per case at 64 worker threads; bench/RESULTS.md).
        gc.collect()
        gc.freeze()
        if self.queue is not None:
            self.queue.start(WorkerDelivery(self.apps["worker"]), self.concurrency)
        if self.proxies is not None:
            directory = self.container.proxy_directory
            self.proxies.start(directory if isinstance(directory, LocalProxies) else None)

    def serve_forever(self) -> None:
        self.http.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.http.shutdown()
        if self.proxies is not None:
            self.proxies.stop()
        self.container.close()


def _proxy_servers(host: str, port: int, container: Container) -> ProxyServers | None:
    """One LLM proxy per ASSAY_PROXY_UPSTREAMS entry, on the ports after `port`."""
    from assay.local.proxies import ProxyServers, parse_upstreams

    upstreams = parse_upstreams(container.settings.proxy_upstreams)
    return ProxyServers(host, port + 1, upstreams, functions_dir()) if upstreams else None


def serve(
    host: str, port: int, concurrency: int, on_ready: Callable[[LocalServer], None] | None = None
) -> None:
    server = LocalServer(host, port, concurrency=concurrency)
    server.start_background()
    if on_ready:
        on_ready(server)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.http.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        if server.proxies is not None:
            server.proxies.stop()  # let calls in flight end and log before the writer closes
        server.container.close()
