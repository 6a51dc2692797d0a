"""A system under test for benchmarks: asyncio HTTP/1.1 keep-alive server that answers every
request after a fixed delay without holding a thread (so 64 concurrent calls cost nothing).

    python -m bench.sut_async PORT DELAY_MS
POST body {"query": q} -> {"answer": q}
"""

from __future__ import annotations

import asyncio
import json
import sys


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            await asyncio.sleep(delay)
            try:
                query = json.loads(body).get("query")
            except ValueError:
                query = None
            payload = json.dumps({"answer": query}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int, delay_ms: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, delay_ms / 1000), "127.0.0.1", port, backlog=1024
    )
    print(f"ready {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
