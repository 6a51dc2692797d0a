"""Serve one Cloud Function with the real `functions-framework` CLI, as Cloud Functions does,
in a subprocess on a free port; stopped by PID (its process group)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.emulators import free_port
from tests.support.process import REPO, ServedProcess

FRAMEWORK = REPO / ".venv" / "bin" / "functions-framework"


class FunctionProcess(ServedProcess):
    def __init__(self, target: str, signature: str, env: dict[str, str], data_dir: Path) -> None:
        super().__init__()
        self.name = self.target = target
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

    def ready(self) -> bool:
        httpx.get(self.url, timeout=1)  # any answer means it is serving
        return True

    def start(self, timeout: float = 30.0) -> FunctionProcess:
        function: FunctionProcess = super().start(timeout)
        return function


@contextlib.contextmanager
def serving(functions: list[FunctionProcess]) -> Iterator[list[FunctionProcess]]:
    try:
        for function in functions:
            function.start()
        yield functions
    finally:
        for function in functions:
            function.stop()
