"""The LLM port: one `LLMClient` protocol, providers chosen by a `provider:model` spec.

Providers: `local:` (deterministic, offline, labelled), `openai:` (any OpenAI-compatible server
through the official openai SDK), `gemini:` and `vertex:` (the official google-genai SDK).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from assay.config import Settings
from assay.errors import BadRequest


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class LLMRequest(BaseModel):
    messages: list[ChatMessage]
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(1024, ge=1, le=65536)
    json_output: bool = False


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class LLMResponse(BaseModel):
    text: str
    model: str
    provider: str
    usage: Usage = Field(default_factory=Usage)


class LLMChunk(BaseModel):
    """One streamed piece; the last one carries `usage` when the provider reports it."""

    text: str = ""
    usage: Usage | None = None


class LLMError(Exception):
    """A provider call failed (network, quota, bad answer)."""


def scrubbed(message: str, *secrets: str | None) -> str:
    """`message` with every secret replaced by `***`: providers echo keys back in errors
    (OpenAI's 401 names the key it got), and LLMError messages end up in results and logs."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


class LLMClient(Protocol):
    provider: str
    model: str

    def generate(self, request: LLMRequest) -> LLMResponse: ...

    def stream(self, request: LLMRequest) -> Iterator[LLMChunk]: ...


def make_llm(spec: str, settings: Settings) -> LLMClient:
    """Build the client for `provider:model` (e.g. `openai:gpt-4o-mini`, `local:`)."""
    provider, _, model = spec.partition(":")
    provider = provider.strip().lower()
    if provider == "local":
        from assay.adapters.llm_local import LocalLLM

        return LocalLLM(model or "judge")
    if provider == "openai":
        from assay.adapters.llm_openai import OpenAILLM

        return OpenAILLM(model or "gpt-4o-mini", settings)
    if provider in ("gemini", "vertex"):
        from assay.adapters.llm_gemini import GeminiLLM

        return GeminiLLM(model or "gemini-2.5-flash", settings, vertex=provider == "vertex")
    raise BadRequest(
        f"unknown model provider '{provider}' in '{spec}' (use local:, openai:, gemini: or vertex:)"
    )
