"""Start the real Google Cloud emulators on free ports and stop them by PID (process group).

In CI (`CI=true`) a missing emulator is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed; the emulator tests need the Google Cloud CLI"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class Emulator:
    name: str
    host: str  # host:port
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # gcloud's java child may outlive it briefly: wait until the whole group is gone.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _wait_ready(emulator: Emulator, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://{emulator.host}/", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    emulator.stop()
    tail = emulator.log.read_text(errors="replace")[-3000:]
    pytest.fail(f"the {emulator.name} emulator did not start in {timeout:.0f} s:\n{tail}")


def start(name: str, args: list[str], timeout: float = 90.0) -> Emulator:
    require("gcloud")
    port = free_port()
    host = f"127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix=f"assay-{name}-")) / "emulator.log"
    fh = log.open("wb")
    process = subprocess.Popen(
        ["gcloud", *args, f"--host-port={host}", "--quiet"],
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    emulator = Emulator(name, host, process, log)
    _wait_ready(emulator, timeout)
    return emulator


@contextlib.contextmanager
def firestore() -> Iterator[Emulator]:
    emulator = start("firestore", ["emulators", "firestore", "start"])
    try:
        yield emulator
    finally:
        emulator.stop()


@contextlib.contextmanager
def pubsub(project: str = "assay-test") -> Iterator[Emulator]:
    emulator = start("pubsub", ["beta", "emulators", "pubsub", "start", f"--project={project}"])
    try:
        yield emulator
    finally:
        emulator.stop()
