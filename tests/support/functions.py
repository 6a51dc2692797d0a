"""Serve one Cloud Function with the real `functions-framework` CLI, as Cloud Functions does,
in a subprocess on a free port; stopped by PID (its process group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.emulators import free_port
from tests.support.server import REPO, TEST_PASSWORD

FRAMEWORK = REPO / ".venv" / "bin" / "functions-framework"


class FunctionProcess:
    def __init__(self, target: str, signature: str, env: dict[str, str], data_dir: Path) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"{target}-{self.port}.log"
        self.env = {**os.environ, **env, "ASSAY_DATA_DIR": str(data_dir / target)}
        self.args = [
            str(FRAMEWORK),
            f"--target={target}",
            f"--source={REPO / 'functions' / target / 'main.py'}",
            f"--signature-type={signature}",
            f"--port={self.port}",
            "--host=127.0.0.1",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> FunctionProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as fh:
            self.process = subprocess.Popen(
                self.args,
                cwd=REPO,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target} exited:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.url, timeout=1)  # any answer means it is serving
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.target} did not start in {timeout:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=("admin", TEST_PASSWORD), timeout=30)


@contextlib.contextmanager
def serving(functions: list[FunctionProcess]) -> Iterator[list[FunctionProcess]]:
    try:
        for function in functions:
            function.start()
        yield functions
    finally:
        for function in functions:
            function.stop()
