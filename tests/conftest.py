"""Fixtures that start real servers once per test run, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import emulators
from tests.support.fake_llm import FakeGemini, FakeOpenAI
from tests.support.proxying import ProxyStack, proxy_stack
from tests.support.server import ServeProcess, serving
from tests.support.sut import SUT


@pytest.fixture(scope="session")
def sut() -> Iterator[SUT]:
    with SUT() as server:
        yield server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One `assay serve` subprocess on embedded defaults for the whole run."""
    with serving(tmp_path_factory.mktemp("serve") / "data") as proc:
        yield proc


@pytest.fixture()
def api(server: ServeProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[emulators.Emulator]:
    with emulators.firestore() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[emulators.Emulator]:
    with emulators.pubsub() as emulator:
        yield emulator


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def _fake_gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture()
def fake_openai(_fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    """The fake OpenAI server, with no script and no recorded requests (SDK base_url: url/v1)."""
    return _fake_openai_server.reset()


@pytest.fixture()
def fake_gemini(_fake_gemini_server: FakeGemini) -> FakeGemini:
    """The fake Gemini / Vertex AI server, with no script and no recorded requests."""
    return _fake_gemini_server.reset()


@pytest.fixture(scope="session")
def proxies(
    tmp_path_factory: pytest.TempPathFactory,
    _fake_openai_server: FakeOpenAI,
    _fake_gemini_server: FakeGemini,
) -> Iterator[ProxyStack]:
    """`assay serve` with LLM proxies to the fake OpenAI, the fake Gemini, a raw upstream that
    misbehaves on request, and a port where nothing listens."""
    data = tmp_path_factory.mktemp("proxies") / "data"
    with proxy_stack(data, _fake_openai_server, _fake_gemini_server) as stack:
        yield stack
