"""The proxy's HTTP/1.1 client to its one upstream.

Written on asyncio protocols with httptools' C parser rather than httpx or aiohttp because the
proxy's budget is a fraction of a millisecond per call (measured as bench/proxy_bench.py does:
httpx's async client added 1.5 ms p50, aiohttp 0.5 ms, this one about 0.3 ms). It does only
what a reverse proxy needs: keep-alive connections to one origin, the response head, then the
body as the bytes arrive (chunked framing removed, content encoding untouched), with timeouts.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

Headers = list[tuple[bytes, bytes]]


class UpstreamError(Exception):
    """The upstream could not be reached, was too slow, or broke the connection."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False
        self._start()

    def _start(self, head_only: bool = False) -> None:
        self.head_only = head_only
        self.status = 0
        self.keep_alive = False
        self.headers: Headers = []
        self.head: asyncio.Future[None] = self.loop.create_future()
        self.chunks: deque[bytes] = deque()
        self.done = False
        self.received = False
        self.error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"upstream sent an invalid response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.done:
            self._fail(UpstreamError("upstream closed the connection before the response ended"))

    # httptools callbacks ------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()  # not answerable once the message ends
        if self.head_only:  # a response to HEAD has no body, whatever its headers say
            self.done = True
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.head_only:
            return  # a server that answers HEAD with a body: the client must not see it
        self.chunks.append(body)
        if len(self.chunks) > 32 and self.transport is not None and not self._paused:
            self._paused = True  # the client reads slower than the upstream writes
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.done = True
        self._wake()

    # -------------------------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        self.error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: a caller that gave up must not leave a warning
        self._wake()

    @property
    def reusable(self) -> bool:
        return self.done and self.keep_alive and not self.lost and not self.head_only

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def body(self, timeout: float) -> AsyncIterator[tuple[bytes, bool]]:
        """The body as it arrives, as (bytes, last): chunks that arrived together come as one,
        and the last says so (a small answer is then relayed in one piece)."""
        while True:
            if self.chunks:
                data = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
                self.chunks.clear()
                if self._paused and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                yield data, self.done
                if self.done:
                    return
                continue
            if self.done:
                return
            if self.error is not None:
                raise self.error
            self._waiter = self.loop.create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            except TimeoutError:
                self.close()
                raise UpstreamError(
                    f"upstream sent nothing for {timeout:g} s", timeout=True
                ) from None


class UpstreamResponse:
    def __init__(self, pool: UpstreamPool, conn: _Connection) -> None:
        self._pool = pool
        self._conn = conn
        self.status = conn.status
        self.headers = conn.headers

    def body(self) -> AsyncIterator[tuple[bytes, bool]]:
        return self._conn.body(self._pool.read_timeout)

    def release(self) -> None:
        """Give the connection back (or close it when the exchange did not end cleanly)."""
        self._pool.release(self._conn)


class UpstreamPool:
    """Keep-alive connections to one origin. `base_url` may carry a path prefix."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        max_idle: int = 64,
    ) -> None:
        url = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"upstream must be an http(s) URL, not {base_url!r}")
        self.base_url = f"{url.scheme}://{url.netloc}{url.path.rstrip('/')}"
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.prefix = url.path.rstrip("/").encode()
        default = 443 if url.scheme == "https" else 80
        self.host_header = (url.hostname if self.port == default else url.netloc).encode()
        self.ssl = ssl.create_default_context() if url.scheme == "https" else None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            raise UpstreamError(
                f"no connection to {self.base_url} within {self.connect_timeout:g} s", timeout=True
            ) from None
        except OSError as exc:
            raise UpstreamError(
                f"cannot connect to {self.base_url}: {exc.strerror or exc}"
            ) from None
        return conn

    async def request(
        self, method: str, target: bytes, headers: Headers, body: bytes
    ) -> UpstreamResponse:
        """Send one request; returns once the response head has arrived."""
        lines = [
            method.encode(),
            b" ",
            self.prefix,
            target,
            b" HTTP/1.1\r\nhost: ",
            self.host_header,
        ]
        for name, value in headers:
            lines += (b"\r\n", name, b": ", value)
        lines += (b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        payload = b"".join(lines)
        while True:
            conn = self._idle_connection()
            reused = conn is not None
            if conn is None:
                conn = await self._connect()
            conn._start(head_only=method == "HEAD")
            assert conn.transport is not None
            conn.transport.write(payload)
            try:
                await asyncio.wait_for(conn.head, self.read_timeout)
            except TimeoutError:
                conn.close()
                raise UpstreamError(
                    f"no response from {self.base_url} within {self.read_timeout:g} s",
                    timeout=True,
                ) from None
            except UpstreamError:
                conn.close()
                if reused and not conn.received:
                    continue  # the upstream had closed this idle connection: use a fresh one
                raise
            return UpstreamResponse(self, conn)

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.lost:
                return conn
        return None

    def release(self, conn: _Connection) -> None:
        if conn.reusable and len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
