"""The proxy's upstream client against a real server: path prefix and Host, HEAD, a connection
the upstream closed while idle, and what a misconfigured upstream looks like."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from assay.services.proxy_upstream import UpstreamError, UpstreamPool

from tests.support.emulators import free_port
from tests.support.raw_upstream import RawUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


async def fetch(pool: UpstreamPool, method: str, target: bytes) -> tuple[int, bytes]:
    response = await pool.request(method, target, [(b"x-test", b"1")], b"")
    body = b"".join([chunk async for chunk, _ in response.body()])
    response.release()
    return response.status, body


def test_prefix_host_and_reuse(upstream: RawUpstream) -> None:
    async def main() -> list[dict[str, object]]:
        pool = UpstreamPool(f"{upstream.url}/echo/")
        seen = []
        for _ in range(3):
            status, body = await fetch(pool, "GET", b"/v1/models?x=1")
            assert status == 200
            seen.append(json.loads(body))
        pool.close()
        return seen

    before = upstream.connections
    seen = asyncio.run(main())
    assert {s["target"] for s in seen} == {"/echo/v1/models?x=1"}
    assert seen[0]["headers"]["host"] == upstream.url.removeprefix("http://")  # type: ignore[index]
    assert upstream.connections - before == 1, "one keep-alive connection for all three"


def test_head_has_no_body_and_the_next_call_still_works(upstream: RawUpstream) -> None:
    async def main() -> tuple[int, bytes, int]:
        pool = UpstreamPool(upstream.url)
        status, body = await fetch(pool, "HEAD", b"/big?n=5000")
        after, _ = await fetch(pool, "GET", b"/big?n=10")
        return status, body, after

    assert asyncio.run(main()) == (200, b"", 200)


def test_an_idle_connection_closed_by_the_upstream_is_replaced(upstream: RawUpstream) -> None:
    async def main() -> int:
        pool = UpstreamPool(upstream.url)
        await fetch(pool, "GET", b"/big?n=10")
        for conn in pool._idle:  # the upstream drops its idle connections
            conn.transport.close()  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        status, _ = await fetch(pool, "GET", b"/big?n=10")
        return status

    assert asyncio.run(main()) == 200


def test_refused_and_bad_upstreams() -> None:
    async def refused() -> None:
        await UpstreamPool(f"http://127.0.0.1:{free_port()}").request("GET", b"/", [], b"")

    with pytest.raises(UpstreamError, match="cannot connect"):
        asyncio.run(refused())
    with pytest.raises(ValueError, match="http"):
        UpstreamPool("ftp://example.com")
    assert UpstreamPool("api.openai.com").base_url == "https://api.openai.com"
