"""Issue 4 benchmarks: the LLM proxy's added latency and throughput, its memory over many calls,
and the /proxy/* queries over 1,000,000 logged calls in DuckDB.

The proxy runs as deployed: `functions-framework --asgi` (gunicorn + uvicorn worker) serving
functions/proxy/main.py in a process of its own, logging every call into DuckDB. The upstream
(tests/support/raw_upstream.py, OpenAI-shaped) is another process. The load generator is a small
keep-alive HTTP/1.1 client on uvloop; requests alternate direct, proxied, direct, ... on each
connection, so both see the same machine at the same moment.

    python -m bench.proxy_bench [--calls 100000] [--skip-proxy]    (or: make bench)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.emulators import free_port
from tests.support.server import serving

REPO = Path(__file__).resolve().parents[1]
CHAT = b'{"model":"gpt-bench","messages":[{"role":"user","content":"Say hello in five words."}]%s}'


# -- processes --------------------------------------------------------------------------------
def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def process(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[int]:
    proc = subprocess.Popen(
        args, cwd=REPO, env={**os.environ, **(env or {})}, start_new_session=True
    )
    try:
        _wait_port(port, proc)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def upstream(port: int) -> contextlib.AbstractContextManager[int]:
    return process([sys.executable, "-m", "tests.support.raw_upstream", str(port)], port)


def proxy(port: int, upstream_url: str, data_dir: Path) -> contextlib.AbstractContextManager[int]:
    args = [
        str(Path(sys.executable).with_name("functions-framework")),
        "--target=proxy",
        f"--source={REPO / 'functions' / 'proxy' / 'main.py'}",
        "--asgi",
        "--host=127.0.0.1",
        f"--port={port}",
    ]
    env = {"ASSAY_PROXY_UPSTREAM": upstream_url, "ASSAY_DATA_DIR": str(data_dir)}
    return process(args, port, env)


def proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process and its children (gunicorn runs a worker)."""
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    cpu = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
    return cpu, sum(p.memory_info().rss for p in procs)


# -- load generator ---------------------------------------------------------------------------
class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def call(self, body: bytes) -> tuple[float, float]:
        """(total seconds, seconds to the first body byte) of one POST."""
        started = time.perf_counter()
        self.w.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        head = await self.r.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:100]
        length, chunked = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        first = None
        if length is not None:
            await self.r.readexactly(length)
            first = time.perf_counter()
        elif chunked:
            while size := int((await self.r.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
                await self.r.readexactly(size + 2)
                first = first or time.perf_counter()
            await self.r.readuntil(b"\r\n")
        ended = time.perf_counter()
        return ended - started, (first or ended) - started


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def interleaved(
    direct: int, proxied: int, total: int, concurrency: int, stream: bool
) -> dict[str, Any]:
    body = CHAT % (b',"stream":true,"stream_options":{"include_usage":true}' if stream else b"")
    results: dict[str, list[tuple[float, float]]] = {"direct": [], "proxied": []}

    async def worker(n: int) -> None:
        pair = [("direct", await Conn.open(direct)), ("proxied", await Conn.open(proxied))]
        for _ in range(n):
            for name, conn in pair:
                results[name].append(await conn.call(body))

    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    out: dict[str, Any] = {}
    for name, rows in results.items():
        lat = [t for t, _ in rows]
        first = [f for _, f in rows]
        out[name] = {"p50": pct(lat, 50), "p99": pct(lat, 99), "ttfb_p50": pct(first, 50)}
    for key in ("p50", "p99", "ttfb_p50"):
        out[f"added_{key}"] = out["proxied"][key] - out["direct"][key]
    out["requests"] = len(results["proxied"])
    return out


async def throughput(port: int, total: int, concurrency: int) -> float:
    body = CHAT % b""

    async def worker(n: int) -> None:
        conn = await Conn.open(port)
        for _ in range(n):
            await conn.call(body)

    started = time.perf_counter()
    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def memory_run(port: int, pid: int, calls: int, every: int) -> list[tuple[int, float]]:
    samples, done = [], 0
    while done < calls:
        await throughput(port, every, 8)
        done += every
        samples.append((done, proc_stat(pid)[1] / 2**20))
    return samples


def count_logged(data_dir: Path) -> int:
    import duckdb

    with duckdb.connect(str(data_dir / "logs.duckdb"), read_only=True) as db:
        row = db.execute("SELECT count(*) FROM proxy_log").fetchone()
        return int(row[0]) if row else 0


def bench_proxy(calls: int) -> dict[str, Any]:
    import uvloop

    up_port, px_port = free_port(), free_port()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, upstream(up_port):
        data = Path(tmp) / "data"
        with proxy(px_port, f"http://127.0.0.1:{up_port}", data) as pid:
            uvloop.run(interleaved(up_port, px_port, 300, 1, False))  # warm up
            for c in (1, 8):
                out[f"c{c}"] = uvloop.run(interleaved(up_port, px_port, 2000, c, False))
            out["stream"] = uvloop.run(interleaved(up_port, px_port, 500, 1, True))
            cpu0 = proc_stat(pid)[0]
            out["rps_c8"] = uvloop.run(throughput(px_port, 10000, 8))
            out["cpu_ms_per_request"] = (proc_stat(pid)[0] - cpu0) / 10000 * 1000
            out["direct_rps_c8"] = uvloop.run(throughput(up_port, 10000, 8))
            out["memory"] = uvloop.run(memory_run(px_port, pid, calls, max(calls // 10, 1000)))
            sent = 300 + 2000 * 2 + 500 + 10000 + calls  # proxied calls only
        time.sleep(0.5)
        out["logged"], out["sent"] = count_logged(data), sent
    return out


# -- /proxy/* over 1,000,000 logged calls ------------------------------------------------------
FILL = """
INSERT INTO proxy_log SELECT
  md5(i::VARCHAR) AS id,
  'trace-' || i AS tracing_id,
  'ctx-' || $context AS litmus_context,
  TIMESTAMPTZ '2026-03-23 00:00:00+00' + to_microseconds((i * 86400000000 // $n)::BIGINT),
  'POST', '/v1/chat/completions', 'https://api.example.com/v1/chat/completions',
  CASE WHEN i % 3 = 0
    THEN json_object('user_agent', 'bench/1.0', 'x_goog_request_params', 'model=m' || (i % 2))
    ELSE json_object('user_agent', 'bench/1.0') END,
  json_object('model', 'gpt-bench', 'messages',
              json_array(json_object('role', 'user', 'content', 'question number ' || i))),
  120,
  200,
  json_object('id', 'chatcmpl-' || i, 'choices', json_array(json_object('message',
              json_object('role', 'assistant', 'content', 'answer number ' || i))),
              'usage', json_object('prompt_tokens', 10 + i % 50, 'completion_tokens', i % 200)),
  300,
  50 + (i % 997) / 10.0,
  20 + (i % 101) / 10.0,
  i % 4 = 0,
  'gpt-bench',
  10 + i % 50, i % 200, 10 + i % 50 + i % 200,
  NULL
FROM range($n) t(i)
"""


# 1,000 contexts of 1,000 calls: as test runs one after another ("runs"), or every context
# spread over the whole day, its calls between everyone else's ("interleaved", the worst case).
LAYOUTS = {"runs": "(i // 1000)", "interleaved": "(i % 1000)"}


def bench_queries(layout: str, n: int = 1_000_000, repeats: int = 7) -> dict[str, Any]:
    from assay.adapters.duckdb_logstore import DuckDBLogStore

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        store = DuckDBLogStore(data / "logs.duckdb")
        started = time.perf_counter()
        store.query(FILL.replace("$n", str(n)).replace("$context", LAYOUTS[layout]))
        out["fill_s"] = time.perf_counter() - started
        store.close()
        with serving(data) as serve, serve.client() as api:
            cases = {
                "agg (all contexts)": ("/proxy/agg", {"date": "2026-03-23"}),
                "agg (one context)": ("/proxy/agg", {"date": "2026-03-23", "context": "ctx-500"}),
                "data (one context, 1000 rows)": (
                    "/proxy/data",
                    {"date": "2026-03-23", "context": "ctx-500"},
                ),
                "data (whole day, first 1000)": ("/proxy/data", {"date": "20260323"}),
                "data flatten (one context)": (
                    "/proxy/data",
                    {"date": "2026-03-23", "context": "ctx-500", "flatten": "true"},
                ),
            }
            for name, (path, params) in cases.items():
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    r = api.get(path, params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200 and r.json(), r.text[:200]
                out[name] = {
                    "rows": len(r.json()),
                    "first_ms": times[0],
                    "median_ms": statistics.median(times),
                    "max_ms": max(times),
                }
    return out


def report_proxy(r: dict[str, Any]) -> str:
    lines = [
        "| run | direct p50 | proxied p50 | added p50 | direct p99 | proxied p99 | added p99 "
        "| added TTFB p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("c1", "2,000 calls, concurrency 1"),
        ("c8", "2,000 calls, concurrency 8"),
        ("stream", "500 streams x 20 chunks, c=1"),
    ):
        x = r[key]
        lines.append(
            f"| {label} | {x['direct']['p50']:.3f} | {x['proxied']['p50']:.3f} "
            f"| {x['added_p50']:.3f} | {x['direct']['p99']:.3f} | {x['proxied']['p99']:.3f} "
            f"| {x['added_p99']:.3f} | {x['added_ttfb_p50']:.3f} |"
        )
    memory = ", ".join(f"{n:,}: {mb:.1f}" for n, mb in r["memory"])
    lines += [
        "",
        f"Throughput at concurrency 8 (proxied only, 10,000 calls): {r['rps_c8']:.0f} req/s "
        f"(upstream alone: {r['direct_rps_c8']:.0f} req/s); proxy CPU "
        f"{r['cpu_ms_per_request']:.3f} ms per call.",
        f"Memory (RSS of the proxy function, MiB) by calls made: {memory}.",
        f"Rows logged: {r['logged']:,} of {r['sent']:,} proxied calls.",
    ]
    return "\n".join(lines)


def report_queries(layout: str, r: dict[str, Any]) -> str:
    lines = [
        f"Layout {layout!r} (filled in {r.pop('fill_s'):.1f} s), over HTTP:",
        "",
        "| query | rows | first (ms) | median (ms) | max (ms) |",
        "|---|---|---|---|---|",
    ]
    for name, x in r.items():
        lines.append(
            f"| {name} | {x['rows']} | {x['first_ms']:.1f} | {x['median_ms']:.1f} "
            f"| {x['max_ms']:.1f} |"
        )
    return "\n".join(lines)


def main(calls: int = 100_000, skip_proxy: bool = False) -> dict[str, Any]:
    """Run, print the tables for bench/RESULTS.md, return the figures (`make bench`)."""
    results: dict[str, Any] = {}
    if not skip_proxy:
        results["proxy"] = bench_proxy(calls)
        print(report_proxy(results["proxy"]), flush=True)
    print("\n/proxy/* over 1,000,000 logged calls in DuckDB:", flush=True)
    for layout in LAYOUTS:
        results[f"queries_{layout}"] = bench_queries(layout)
        print("\n" + report_queries(layout, dict(results[f"queries_{layout}"])), flush=True)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000, help="calls of the memory run")
    parser.add_argument("--skip-proxy", action="store_true", help="only the /proxy/* queries")
    args = parser.parse_args()
    main(args.calls, args.skip_proxy)
