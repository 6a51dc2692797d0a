"""The proxy function as deployed: functions-framework --asgi (gunicorn + uvicorn worker) serving
functions/proxy/main.py with ASSAY_PROXY_UPSTREAM. Stopped with SIGTERM, as Cloud Run stops an
instance, right after a burst of calls: it exits cleanly and every call's row is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx

from tests.support.emulators import free_port
from tests.support.raw_upstream import RawUpstream

REPO = Path(__file__).resolve().parents[2]
CALLS = 2000


def test_sigterm_right_after_a_burst_loses_no_log_row(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    with RawUpstream() as upstream:
        env = {
            **os.environ,
            "ASSAY_PROXY_UPSTREAM": upstream.url,
            "ASSAY_DATA_DIR": str(data),
        }
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("functions-framework")),
                "--target=proxy",
                f"--source={REPO / 'functions' / 'proxy' / 'main.py'}",
                "--asgi",
                "--host=127.0.0.1",
                f"--port={port}",
            ],
            env=env,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/litmus-context-burst/v1/chat/completions"
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert httpx.post(url, json={"model": "m0"}).status_code == 200
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the function did not start"
                    time.sleep(0.1)

            def burst(first: int) -> set[int]:
                with httpx.Client(timeout=30) as client:
                    return {
                        client.post(url, json={"model": f"m{i}"}).status_code
                        for i in range(first, CALLS, 8)
                    }

            with ThreadPoolExecutor(8) as pool:
                assert set().union(*pool.map(burst, range(1, 9))) == {200}
            proc.send_signal(signal.SIGTERM)  # at once: the last rows are still in memory
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    with duckdb.connect(str(data / "logs.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT count(*), count(DISTINCT model) FROM proxy_log WHERE litmus_context = 'burst'"
        ).fetchone()
    assert rows == (CALLS, CALLS)
