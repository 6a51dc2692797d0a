"""`openai:MODEL` - OpenAI, or any OpenAI-compatible server (`OPENAI_BASE_URL`), through the
official openai SDK's chat-completions API.

The SDK is imported and its client built on the first call, not at import: importing openai
costs cold-start time, and a missing key should fail the calls that need it, not the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assay.adapters.llm import LLMChunk, LLMError, LLMRequest, LLMResponse, Usage, scrubbed
from assay.config import Settings

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types import CompletionUsage

MAX_RETRIES = 2
# OpenAI-compatible servers without auth (vLLM, Ollama) need no key, but the SDK insists on one.
NO_KEY = "no-key"


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        total_tokens=usage.total_tokens or 0,
    )


class OpenAILLM:
    provider = "openai"

    def __init__(self, model: str, settings: Settings) -> None:
        self.model = model
        self._settings = settings
        self._client: OpenAI | None = None
        self._lock = threading.Lock()

    def _sdk(self) -> OpenAI:
        """One SDK client per instance (it pools connections), shared by the worker's threads."""
        with self._lock:
            if self._client is None:
                s = self._settings
                if not s.openai_api_key and not s.openai_base_url:
                    raise LLMError(
                        f"openai:{self.model}: OPENAI_API_KEY is not set "
                        "(or set OPENAI_BASE_URL for an OpenAI-compatible server)"
                    )
                from openai import OpenAI

                self._client = OpenAI(
                    api_key=s.openai_api_key or NO_KEY,
                    base_url=s.openai_base_url,
                    timeout=s.llm_timeout_s,
                    max_retries=MAX_RETRIES,
                )
            return self._client

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.json_output:
            params["response_format"] = {"type": "json_object"}
        return params

    def _error(self, exc: Exception) -> LLMError:
        """One LLMError for every SDK or network failure, without the key in it."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            body = exc.body
            message = body.get("message") if isinstance(body, dict) else None
            detail = f"HTTP {exc.status_code}: {message or exc.message}"
        elif isinstance(exc, openai.APITimeoutError):
            detail = f"no answer within {self._settings.llm_timeout_s:g}s"
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = f"could not connect: {cause or exc.message}"
        elif isinstance(exc, ValueError):  # json.JSONDecodeError and pydantic's errors
            detail = f"the answer is not valid JSON ({exc})"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        text = f"openai:{self.model}: {detail}"
        return LLMError(scrubbed(text, self._settings.openai_api_key))

    def generate(self, request: LLMRequest) -> LLMResponse:
        from openai.types.chat import ChatCompletion

        try:
            completion = self._sdk().chat.completions.create(**self._params(request))
        except LLMError:
            raise
        except Exception as exc:  # the SDK's errors, and anything its transport raises
            raise self._error(exc) from None
        if not isinstance(completion, ChatCompletion):
            raise LLMError(f"openai:{self.model}: the answer is not a chat completion")
        if not completion.choices:
            raise LLMError(f"openai:{self.model}: the answer has no choices")
        return LLMResponse(
            text=completion.choices[0].message.content or "",
            model=f"openai:{self.model}",
            provider=self.provider,
            usage=_usage(completion.usage),
        )

    def stream(self, request: LLMRequest) -> Iterator[LLMChunk]:
        usage: Usage | None = None
        try:
            events = self._sdk().chat.completions.create(
                **self._params(request), stream=True, stream_options={"include_usage": True}
            )
            with events:
                for event in events:
                    if event.usage is not None:
                        usage = _usage(event.usage)
                    for choice in event.choices:
                        if choice.delta.content:
                            yield LLMChunk(text=choice.delta.content)
        except LLMError:
            raise
        except Exception as exc:  # the SDK's errors, and anything its transport raises
            raise self._error(exc) from None
        if usage is not None:
            yield LLMChunk(usage=usage)
