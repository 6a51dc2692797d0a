"""Unmodified official SDKs pointed at the proxy instead of the provider: the answers are the
provider's, and each call is read back from /proxy/data and /proxy/agg with its token usage."""

from __future__ import annotations

import uuid
from pathlib import Path

import openai
import pytest
from google import genai
from google.genai import types

from tests.support.fake_llm import FakeGemini, FakeOpenAI
from tests.support.proxying import ProxyStack, today


def ctx() -> str:
    return f"sdk-{uuid.uuid4().hex[:10]}"


def openai_client(proxies: ProxyStack, context: str) -> openai.OpenAI:
    base = f"{proxies.url('openai')}/litmus-context-{context}/v1"
    return openai.OpenAI(base_url=base, api_key="sk-test-secret", max_retries=0)


def test_openai_chat_completion(proxies: ProxyStack, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_with("Paris.", prompt_tokens=11, completion_tokens=2)
    context = ctx()
    answer = openai_client(proxies, context).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "Capital of France?"}]
    )
    assert answer.choices[0].message.content == "Paris."
    assert answer.usage is not None and answer.usage.total_tokens == 13
    [row] = proxies.rows(context)
    assert row["requestURI"] == "/v1/chat/completions"
    assert row["model"] == "gpt-test"
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (11, 2, 13)
    assert row["requestHeaders"]["authorization"] == "[REDACTED]"
    assert fake_openai.last.headers["authorization"] == "Bearer sk-test-secret"


def test_openai_stream_with_usage(proxies: ProxyStack, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_with("one two three four", prompt_tokens=5, completion_tokens=4)
    context = ctx()
    stream = openai_client(proxies, context).chat.completions.create(
        model="gpt-stream",
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(pieces) == "one two three four"
    assert len(pieces) == 4, "each event arrives as its own chunk"
    assert usage is not None and usage.total_tokens == 9
    [row] = proxies.rows(context)
    assert row["streamed"] is True
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (5, 4, 9)
    assert row["model"] == "gpt-stream"


def test_openai_error_status_reaches_the_sdk(proxies: ProxyStack, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_with(429, message="slow down")
    context = ctx()
    with pytest.raises(openai.RateLimitError, match="slow down"):
        openai_client(proxies, context).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}]
        )
    [row] = proxies.rows(context)
    assert row["responseStatus"] == 429


def gemini_client(
    proxies: ProxyStack, context: str, vertex: bool, fake: FakeGemini, tmp_path: Path
) -> genai.Client:
    options = types.HttpOptions(base_url=f"{proxies.url('gemini')}/litmus-context-{context}")
    if not vertex:
        return genai.Client(api_key="goog-test-secret", http_options=options)
    import google.auth.credentials
    from google.oauth2.credentials import Credentials

    creds: google.auth.credentials.Credentials = Credentials.from_authorized_user_file(
        str(fake.adc_file(tmp_path))
    )
    return genai.Client(
        vertexai=True,
        project="test-project",
        location="europe-west4",
        credentials=creds,
        http_options=options,
    )


@pytest.mark.parametrize("vertex", [False, True], ids=["gemini", "vertex"])
def test_gemini_generate_content(
    proxies: ProxyStack, fake_gemini: FakeGemini, tmp_path: Path, vertex: bool
) -> None:
    fake_gemini.reply_with("Blue.", prompt_tokens=6, completion_tokens=1)
    context = ctx()
    client = gemini_client(proxies, context, vertex, fake_gemini, tmp_path)
    answer = client.models.generate_content(model="gemini-test", contents="Sky colour?")
    assert answer.text == "Blue."
    [row] = proxies.rows(context)
    prefix = "/projects/test-project/locations/europe-west4/publishers/google" if vertex else ""
    assert row["requestURI"].endswith(f"{prefix}/models/gemini-test:generateContent")
    assert row["model"] == "gemini-test"
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (6, 1, 7)
    secret = "authorization" if vertex else "x_goog_api_key"
    assert row["requestHeaders"][secret] == "[REDACTED]"
    with proxies.client() as api:
        [agg] = api.get("/proxy/agg", params={"date": today(), "context": context}).json()
    assert (agg["prompt_token_count"], agg["candidates_token_count"]) == (6, 1)
    assert agg["total_token_count"] == 7


@pytest.mark.parametrize("vertex", [False, True], ids=["gemini", "vertex"])
def test_gemini_generate_content_stream(
    proxies: ProxyStack, fake_gemini: FakeGemini, tmp_path: Path, vertex: bool
) -> None:
    fake_gemini.reply_with("red green blue", prompt_tokens=4, completion_tokens=3)
    context = ctx()
    client = gemini_client(proxies, context, vertex, fake_gemini, tmp_path)
    pieces = [
        chunk.text
        for chunk in client.models.generate_content_stream(model="gemini-test", contents="Colours?")
    ]
    assert "".join(p or "" for p in pieces) == "red green blue"
    assert len(pieces) >= 3
    [row] = proxies.rows(context)
    assert row["streamed"] is True
    assert "streamGenerateContent" in row["requestURI"]
    assert (row["promptTokens"], row["completionTokens"], row["totalTokens"]) == (4, 3, 7)
