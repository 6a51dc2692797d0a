"""`make package` builds the exact source each function is deployed from; a bundle, installed
into a clean venv from nothing but its own requirements.txt, serves its routes under the real
`functions-framework` CLI, the way Cloud Functions runs it."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import assay
import httpx
import pytest
from assay.deploy import package
from assay.deploy.spec import deployed_functions

from tests.infra.terraform import REPO, require_tool
from tests.support.emulators import free_port

NAMES = [f.name for f in deployed_functions()]


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "functions"
    package.build(out)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_bundle_holds_its_main_the_package_and_pinned_requirements(bundles: Path, name) -> None:
    bundle = bundles / name
    assert (bundle / "main.py").read_text() == (REPO / "functions" / name / "main.py").read_text()
    assert (bundle / "assay" / "__init__.py").read_text() == (
        REPO / "shared" / "assay" / "__init__.py"
    ).read_text()
    assert not list(bundle.rglob("__pycache__"))
    lines = [
        line
        for line in (bundle / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    pins = dict(line.split("==") for line in lines)
    assert all("==" in line for line in lines), "every requirement is pinned"
    assert pins["functions-framework"] == metadata.version("functions-framework")
    assert pins["pydantic"] == metadata.version("pydantic")
    assert "assay" not in pins and "pytest" not in pins  # the package ships as source; no dev


def test_bundle_zip_is_reproducible_and_holds_the_bundle(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    package.build(first, ["platform"])
    time.sleep(1.1)  # a later mtime must not change the zip
    package.build(second, ["platform"])
    zipped = (first / "platform.zip").read_bytes()
    assert zipped == (second / "platform.zip").read_bytes()
    with zipfile.ZipFile(first / "platform.zip") as zf:
        names = set(zf.namelist())
    files = {p.relative_to(first / "platform").as_posix() for p in (first / "platform").rglob("*")}
    assert names == {f for f in files if (first / "platform" / f).is_file()}


# -- a clean venv, made once per session ----------------------------------------------------


@pytest.fixture(scope="session")
def clean_venv(bundles: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that has only what platform's requirements.txt names (uv, with its cache)."""
    uv = require_tool(str(REPO / ".venv" / "bin" / "uv"), "uv", "run `make install`")
    venv = tmp_path_factory.mktemp("clean") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    started = time.monotonic()
    subprocess.run([uv, "venv", "-q", "--python", base, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), "-r",
         str(bundles / "platform" / "requirements.txt")],
        check=True, timeout=600,
    )  # fmt: skip
    sys.stderr.write(f"\nclean venv for the bundles: {time.monotonic() - started:.1f} s\n")
    probe = subprocess.run([str(python), "-c", "import assay"], capture_output=True, cwd=venv)
    assert probe.returncode != 0, "the clean venv must not see the repository's assay"
    return venv


class Served:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log


@contextlib.contextmanager
def serve(
    venv: Path, bundle: Path, target: str, env: dict[str, str], *args: str
) -> Iterator[Served]:
    port = free_port()
    log = bundle.parent / f"{target}-{port}.log"
    clean_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(bundle.parent), **env}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(venv / "bin" / "functions-framework"), f"--source={bundle / 'main.py'}",
             f"--target={target}", f"--port={port}", "--host=127.0.0.1", *args],
            cwd=bundle.parent, env=clean_env, stdout=fh, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{target} exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url, timeout=1)
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{target} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Served(url, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_every_bundle_needs_the_same_requirements(bundles: Path) -> None:
    wanted = (bundles / "platform" / "requirements.txt").read_text()
    for name in NAMES:
        assert (bundles / name / "requirements.txt").read_text() == wanted, name


def test_packaged_platform_serves_version_and_health_in_a_clean_venv(
    clean_venv: Path, bundles: Path, tmp_path: Path
) -> None:
    env = {"DISABLE_AUTH": "True", "ASSAY_DATA_DIR": str(tmp_path / "data")}
    with serve(clean_venv, bundles / "platform", "platform", env) as fn:
        version = httpx.get(f"{fn.url}/version", timeout=30)
        assert version.status_code == 200, version.text
        assert version.json() == {"version": assay.__version__}
        health = httpx.get(f"{fn.url}/health", timeout=30)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "healthy"
        assert httpx.get(f"{fn.url}/runs", timeout=30).status_code == 404  # not its route


def test_packaged_worker_acknowledges_a_pubsub_push_envelope(
    clean_venv: Path, bundles: Path, tmp_path: Path
) -> None:
    """Production pushes the raw Pub/Sub envelope (no Eventarc): the bundle must accept it. An
    undecodable message is acknowledged (2xx), since redelivering it could never succeed."""
    envelope = {
        "message": {
            "data": base64.b64encode(b"not a test case").decode(),
            "messageId": "1",
            "attributes": {},
        },
        "subscription": "projects/p/subscriptions/assay-test-cases-worker",
    }
    env = {"ASSAY_DATA_DIR": str(tmp_path / "data")}
    with serve(clean_venv, bundles / "worker", "worker", env) as fn:
        answer = httpx.post(fn.url, json=envelope, timeout=30)
        assert 200 <= answer.status_code < 300, answer.text
        assert "undecodable message 1" in fn.log.read_text()


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"object": "list", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_packaged_proxy_forwards_to_its_upstream_as_deployed(
    clean_venv: Path, bundles: Path, tmp_path: Path
) -> None:
    """Deployed with FUNCTION_USE_ASGI=true (spec.PROFILES['proxy']): the ASGI proxy serves."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    env = {
        "ASSAY_DATA_DIR": str(tmp_path / "data"),
        "ASSAY_PROXY_UPSTREAM": f"http://127.0.0.1:{upstream.server_address[1]}",
        "FUNCTION_USE_ASGI": "true",
    }
    try:
        with serve(clean_venv, bundles / "proxy", "proxy", env) as fn:
            answer = httpx.get(f"{fn.url}/v1/models", timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"object": "list", "path": "/v1/models"}
    finally:
        upstream.shutdown()
        upstream.server_close()
