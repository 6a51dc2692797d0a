"""The real LLM providers through the official SDKs (openai, google-genai) against fake provider
HTTP servers: what is sent, what comes back, and how failures look to the caller."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from assay.adapters.llm import ChatMessage, LLMClient, LLMError, LLMRequest, make_llm
from assay.config import Settings
from assay.services.assessment import JudgeOutputInvalid, assess

from tests.support.emulators import free_port
from tests.support.fake_llm import VERTEX_TOKEN, FakeGemini, FakeLLMServer, FakeOpenAI
from tests.support.server import REPO, serving, wait_run

OPENAI_KEY = "sk-test-0123456789abcdef"
GOOGLE_KEY = "AIza-test-0123456789abcdef"
CONVERSATION = [
    ChatMessage(role="system", content="You answer in one word."),
    ChatMessage(role="user", content="Capital of Italy?"),
    ChatMessage(role="assistant", content="Rome"),
    ChatMessage(role="user", content="Capital of France?"),
]


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "openai_api_key": OPENAI_KEY,
        "google_api_key": GOOGLE_KEY,
        "project": "test-project",
        "region": "europe-west4",
        "llm_timeout_s": 10,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def vertex_adc(tmp_path: Path, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """Application Default Credentials for the Vertex client, read by google-auth as in prod."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(fake_gemini.adc_file(tmp_path)))


@pytest.fixture(params=["openai", "gemini", "vertex"])
def provider(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, fake_gemini: FakeGemini, tmp_path: Path
) -> tuple[Callable[..., LLMClient], FakeLLMServer]:
    """(build(base_url=...) -> the provider's client, its fake server)."""
    name = request.param
    if name == "vertex":
        request.getfixturevalue("vertex_adc")
    fake: FakeLLMServer = fake_openai if name == "openai" else fake_gemini

    def build(base_url: str | None = None, **overrides: object) -> LLMClient:
        url = base_url or fake.url
        urls = {"openai_base_url": f"{url}/v1"} if name == "openai" else {"gemini_base_url": url}
        return make_llm(f"{name}:test-model", settings(**urls, **overrides))

    return build, fake


def test_openai_generate_sends_the_conversation_and_reads_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_with("Paris", prompt_tokens=21, completion_tokens=1)
    llm = make_llm("openai:gpt-test", settings(openai_base_url=f"{fake_openai.url}/v1"))
    reply = llm.generate(LLMRequest(messages=CONVERSATION, temperature=0.7, max_tokens=50))
    assert (reply.text, reply.model, reply.provider) == ("Paris", "openai:gpt-test", "openai")
    assert reply.usage.model_dump() == {
        "prompt_tokens": 21,
        "completion_tokens": 1,
        "total_tokens": 22,
    }
    sent = fake_openai.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body["model"] == "gpt-test"
    assert sent.body["messages"] == [m.model_dump() for m in CONVERSATION]
    assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.7, 50)
    assert "response_format" not in sent.body and not sent.body.get("stream")


def test_openai_stream_yields_pieces_then_usage(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_with("Paris is lovely", chunks=["Par", "is is ", "lovely"])
    llm = make_llm("openai:gpt-test", settings(openai_base_url=f"{fake_openai.url}/v1"))
    chunks = list(llm.stream(LLMRequest(messages=CONVERSATION)))
    assert [c.text for c in chunks[:-1]] == ["Par", "is is ", "lovely"]
    assert chunks[-1].text == "" and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3 and chunks[-1].usage.total_tokens > 3
    assert fake_openai.last.body["stream"] is True
    assert fake_openai.last.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("vertex", [False, True], ids=["gemini", "vertex"])
def test_gemini_generate_and_stream(
    fake_gemini: FakeGemini, vertex: bool, request: pytest.FixtureRequest
) -> None:
    if vertex:
        request.getfixturevalue("vertex_adc")
    fake_gemini.reply_with("Paris", prompt_tokens=17, completion_tokens=2, chunks=["Pa", "ris"])
    spec = f"{'vertex' if vertex else 'gemini'}:gemini-test"
    llm = make_llm(spec, settings(gemini_base_url=fake_gemini.url))
    reply = llm.generate(LLMRequest(messages=CONVERSATION, temperature=0.4, max_tokens=64))
    assert (reply.text, reply.model) == ("Paris", spec)
    assert reply.usage.model_dump() == {
        "prompt_tokens": 17,
        "completion_tokens": 2,
        "total_tokens": 19,
    }
    sent = fake_gemini.last
    prefix = "projects/test-project/locations/europe-west4/publishers/google/" if vertex else ""
    assert sent.path.endswith(f"/{prefix}models/gemini-test:generateContent")
    if vertex:  # ADC, never the Gemini API key, on the Vertex endpoint
        assert sent.headers["authorization"] == f"Bearer {VERTEX_TOKEN}"
        assert "x-goog-api-key" not in sent.headers
    else:
        assert sent.headers["x-goog-api-key"] == GOOGLE_KEY
    assert sent.body["systemInstruction"]["parts"] == [{"text": "You answer in one word."}]
    assert [(c["role"], c["parts"][0]["text"]) for c in sent.body["contents"]] == [
        ("user", "Capital of Italy?"),
        ("model", "Rome"),
        ("user", "Capital of France?"),
    ]
    assert sent.body["generationConfig"] == {"temperature": 0.4, "maxOutputTokens": 64}

    chunks = list(llm.stream(LLMRequest(messages=CONVERSATION)))
    assert [c.text for c in chunks[:-1]] == ["Pa", "ris"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 19
    assert fake_gemini.last.path.endswith(":streamGenerateContent")
    assert fake_gemini.last.query == {"alt": "sse"}


def test_json_output_asks_for_json_mode(provider: tuple[Callable[..., LLMClient], FakeLLMServer]):
    build, fake = provider
    fake.reply_with('{"ok": true}')
    reply = build().generate(LLMRequest(messages=CONVERSATION, json_output=True))
    assert reply.text == '{"ok": true}'
    body = fake.last.body
    if isinstance(fake, FakeOpenAI):
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"


def test_a_transient_server_error_is_retried(provider):
    build, fake = provider
    fake.fail_with(503, times=1).reply_with("fine")
    assert build().generate(LLMRequest(messages=CONVERSATION)).text == "fine"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [500, 429])
def test_persistent_errors_become_llm_error_after_retries(provider, status: int) -> None:
    build, fake = provider
    fake.fail_with(status, message=f"upstream says no ({status})")
    with pytest.raises(LLMError) as caught:
        build().generate(LLMRequest(messages=CONVERSATION))
    message = str(caught.value)
    assert f"HTTP {status}" in message and f"upstream says no ({status})" in message
    assert len(fake.requests) == 3  # the call and two retries
    assert OPENAI_KEY not in message and GOOGLE_KEY not in message


def test_a_stream_that_fails_raises_llm_error(provider) -> None:
    build, fake = provider
    fake.fail_with(400, message="bad request")
    with pytest.raises(LLMError, match="HTTP 400.*bad request"):
        list(build().stream(LLMRequest(messages=CONVERSATION)))


def test_connection_refused_becomes_llm_error(provider) -> None:
    build, _ = provider
    with pytest.raises(LLMError, match="(?i)connect") as caught:
        build(base_url=f"http://127.0.0.1:{free_port()}").generate(
            LLMRequest(messages=CONVERSATION)
        )
    assert OPENAI_KEY not in str(caught.value) and GOOGLE_KEY not in str(caught.value)


def test_a_key_echoed_back_by_the_provider_never_reaches_the_error(provider) -> None:
    build, fake = provider
    fake.fail_with(401, message="Incorrect API key provided: {api_key}")
    with pytest.raises(LLMError) as caught:
        build().generate(LLMRequest(messages=CONVERSATION))
    assert "Incorrect API key provided" in str(caught.value)
    assert OPENAI_KEY not in str(caught.value) and GOOGLE_KEY not in str(caught.value)


def test_a_body_that_is_not_json_becomes_llm_error(provider) -> None:
    build, fake = provider
    fake.reply_malformed()
    with pytest.raises(LLMError, match="not valid JSON"):
        build().generate(LLMRequest(messages=CONVERSATION))


@pytest.mark.parametrize(
    ("spec", "overrides", "named"),
    [
        ("openai:gpt-test", {"openai_api_key": None, "openai_base_url": None}, "OPENAI_API_KEY"),
        ("gemini:gemini-test", {"google_api_key": None}, "GOOGLE_API_KEY"),
    ],
)
def test_a_missing_key_fails_the_call_not_the_build(spec, overrides, named) -> None:
    llm = make_llm(spec, settings(**overrides))
    with pytest.raises(LLMError, match=named):
        llm.generate(LLMRequest(messages=CONVERSATION))


def test_providers_import_their_sdks_only_when_called() -> None:
    """Cold starts: building the judge must not import openai or google.genai."""
    code = (
        "import sys; from assay.config import Settings; from assay.adapters.llm import make_llm; "
        "[make_llm(s, Settings()) for s in ('openai:m', 'gemini:m', 'vertex:m')]; "
        "print(sorted(m for m in ('openai', 'google.genai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_judge_assessment_through_openai(fake_openai: FakeOpenAI) -> None:
    judge = make_llm("openai:fake-judge", settings(openai_base_url=f"{fake_openai.url}/v1"))
    fake_openai.reply_with('{"similarity": 0.9, "equivalent": true}')
    judgement = assess(judge, "Be strict.", "Paris", "The capital is Paris")
    assert judgement["similarity"] == 0.9 and judgement["judge"] == "openai:fake-judge"
    assert judgement["judge_usage"]["total_tokens"] > 0
    prompt = fake_openai.last.body["messages"][-1]["content"]
    assert "Be strict." in prompt and "The capital is Paris" in prompt
    assert fake_openai.last.body["response_format"] == {"type": "json_object"}

    fake_openai.reply_with("I think they are quite similar!")
    with pytest.raises(JudgeOutputInvalid):
        assess(judge, None, "Paris", "The capital is Paris")


def test_a_run_is_judged_by_the_configured_openai_judge(
    fake_openai: FakeOpenAI, sut, tmp_path: Path
) -> None:
    """`assay serve` with ASSAY_JUDGE_MODEL=openai:...: each case's verdict is the fake judge's."""
    fake_openai.reply_with('{"similarity": 0.9}', when="<statement>Paris</statement>")
    fake_openai.reply_with('{"similarity": 0.2}', when="<statement>Lyon</statement>")
    fake_openai.reply_with("not json at all", when="<statement>Nice</statement>")
    cases = [
        {"query": "Paris", "response": "Paris is the capital of France"},
        {"query": "Lyon", "response": "Marseille is the second city"},
        {"query": "Nice", "response": "Nice is on the Riviera"},
    ]
    template = {
        "template_id": "judged-by-openai",
        "template_data": cases,
        "test_request": {
            "url": f"{sut.url}/answer",
            "method": "POST",
            "body": {"query": "{query}"},
        },
        "template_llm_prompt": "Compare the statement with the best-known response.",
        "template_input_field": "body.query",
        "template_output_field": "answer",
        "evaluation_types": {"llm_assessment": True},
    }
    env = {
        "ASSAY_JUDGE_MODEL": "openai:fake-judge",
        "OPENAI_BASE_URL": f"{fake_openai.url}/v1",
        "OPENAI_API_KEY": "sk-test",
    }
    with serving(tmp_path / "data", env=env) as server, server.client() as api:
        assert api.post("/templates/add", json=template).status_code == 200
        submit = {"run_id": "run-judged", "template_id": "judged-by-openai"}
        assert api.post("/runs/submit", json=submit).status_code == 200
        status = wait_run(api, "run-judged")
    by_query = {c["request"]["body"]["query"]: c["response"] for c in status["testCases"]}
    assert by_query["Paris"]["status"] == "Passed"
    assert by_query["Paris"]["assessment"]["llm_assessment"]["similarity"] == 0.9
    assert by_query["Paris"]["assessment"]["llm_assessment"]["judge"] == "openai:fake-judge"
    assert by_query["Lyon"]["status"] == "Failed"
    assert by_query["Nice"]["status"] == "Error"
    assert "invalid response" in by_query["Nice"]["error"]
    prompts = [r.body["messages"][-1]["content"] for r in fake_openai.requests]
    for case in cases:  # the judge saw each golden answer next to the system's answer
        assert any(
            f"<statement>{case['query']}</statement>" in p
            and f"<best_known_response>{case['response']}</best_known_response>" in p
            for p in prompts
        )
    assert {r.headers["authorization"] for r in fake_openai.requests} == {"Bearer sk-test"}
