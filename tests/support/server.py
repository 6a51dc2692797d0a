"""Run `assay serve` as a real subprocess on a free port, as a user would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulators import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_PASSWORD = "test-password-not-a-secret"


class ServeProcess:
    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ASSAY_DATA_DIR": str(self.data_dir),
            "PORT": str(self.port),
            "ASSAY_PASSWORD": TEST_PASSWORD,
            "ASSAY_CASE_BACKOFF": "0.01",
            "ASSAY_CASE_TIMEOUT": "3",
            **(env or {}),
        }
        for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
            if name not in (env or {}):
                self.env.pop(name, None)
        self.log = self.data_dir.parent / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServeProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fh = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assay.cli", "serve"],
            cwd=REPO,
            env=self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"assay serve exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"assay serve did not become healthy:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9, no goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=("admin", TEST_PASSWORD), timeout=30, **kwargs)


def wait_run(client: httpx.Client, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/runs/status/{run_id}").json()
        if status.get("status") in ("Completed", "Failed"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(
                f"run {run_id} did not finish: {status.get('status')} {status.get('progress')}"
            )
        time.sleep(0.05)


@contextlib.contextmanager
def serving(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    server = ServeProcess(data_dir, env).start()
    try:
        yield server
    finally:
        server.stop()
