"""Run `assay serve` as a real subprocess on a free port, as a user would."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.emulators import free_port
from tests.support.process import REPO, TEST_PASSWORD, ServedProcess

__all__ = ["REPO", "TEST_PASSWORD", "ServeProcess", "serving", "wait_run"]


class ServeProcess(ServedProcess):
    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        super().__init__()
        self.name = "assay serve"
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
        self.args = [sys.executable, "-m", "assay.cli", "serve"]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=1).status_code == 200

    def start(self, timeout: float = 30.0) -> ServeProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server: ServeProcess = super().start(timeout)
        return server


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
