"""`gemini:MODEL` (Gemini API, `GOOGLE_API_KEY`/`GEMINI_API_KEY`) and `vertex:MODEL` (Vertex AI,
Application Default Credentials, `GOOGLE_CLOUD_PROJECT`/`GOOGLE_CLOUD_REGION`) through the
official google-genai SDK. `ASSAY_GEMINI_BASE_URL` points either at another endpoint (a proxy,
or the tests' fake server).

The SDK is imported and its client built on the first call, not at import: google.genai is a
heavy import (cold starts), and missing credentials should fail the calls, not the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assay.adapters.llm import LLMChunk, LLMError, LLMRequest, LLMResponse, Usage, scrubbed
from assay.config import Settings

if TYPE_CHECKING:
    from google.genai import Client
    from google.genai.types import GenerateContentResponse, GenerateContentResponseUsageMetadata

# Same budget as the OpenAI provider: the first call and two retries on 408/429/5xx and
# connection errors, backing off from half a second.
ATTEMPTS = 3
FIRST_BACKOFF_S = 0.5


def _usage(meta: GenerateContentResponseUsageMetadata | None) -> Usage:
    if meta is None:
        return Usage()
    return Usage(
        prompt_tokens=meta.prompt_token_count or 0,
        completion_tokens=meta.candidates_token_count or 0,
        total_tokens=meta.total_token_count or 0,
    )


class GeminiLLM:
    def __init__(self, model: str, settings: Settings, vertex: bool = False) -> None:
        self.model = model
        self.provider = "vertex" if vertex else "gemini"
        self._vertex = vertex
        self._settings = settings
        self._client: Client | None = None
        self._lock = threading.Lock()

    @property
    def _name(self) -> str:
        return f"{self.provider}:{self.model}"

    def _sdk(self) -> Client:
        """One SDK client per instance (it pools connections), shared by the worker's threads."""
        with self._lock:
            if self._client is None:
                s = self._settings
                if not self._vertex and not s.google_api_key:
                    raise LLMError(f"{self._name}: GOOGLE_API_KEY (or GEMINI_API_KEY) is not set")
                from google import genai
                from google.genai import types

                options = types.HttpOptions(
                    base_url=s.gemini_base_url,
                    timeout=int(s.llm_timeout_s * 1000),
                    retry_options=types.HttpRetryOptions(
                        attempts=ATTEMPTS, initial_delay=FIRST_BACKOFF_S, jitter=FIRST_BACKOFF_S
                    ),
                )
                if self._vertex:
                    # project None: the SDK takes it from Application Default Credentials.
                    self._client = genai.Client(
                        vertexai=True, project=s.project, location=s.region, http_options=options
                    )
                else:
                    self._client = genai.Client(
                        vertexai=False, api_key=s.google_api_key, http_options=options
                    )
            return self._client

    def _call(self, request: LLMRequest) -> dict[str, Any]:
        from google.genai import types

        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        contents = [
            types.Content(
                role="model" if m.role == "assistant" else "user",
                parts=[types.Part(text=m.content)],
            )
            for m in request.messages
            if m.role != "system"
        ]
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
            response_mime_type="application/json" if request.json_output else None,
        )
        return {"model": self.model, "contents": contents, "config": config}

    def _error(self, exc: Exception) -> LLMError:
        """One LLMError for every SDK, auth or network failure, without the key in it."""
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            detail = f"HTTP {exc.code} {exc.status or ''}: {exc.message or exc.details}"
        elif "Timeout" in type(exc).__name__:
            detail = f"no answer within {self._settings.llm_timeout_s:g}s"
        elif isinstance(exc, ValueError) and "JSON" in type(exc).__name__:
            detail = f"the answer is not valid JSON ({exc})"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return LLMError(scrubbed(f"{self._name}: {detail}", self._settings.google_api_key))

    def _text(self, response: GenerateContentResponse) -> str:
        text = response.text
        if text is not None:
            return text
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise LLMError(f"{self._name}: the prompt was blocked ({feedback.block_reason})")
        candidates = response.candidates or []
        reason = candidates[0].finish_reason if candidates else None
        raise LLMError(f"{self._name}: the answer holds no text (finish reason: {reason})")

    def generate(self, request: LLMRequest) -> LLMResponse:
        try:
            response = self._sdk().models.generate_content(**self._call(request))
        except LLMError:
            raise
        except Exception as exc:  # the SDK's errors, and anything auth or transport raises
            raise self._error(exc) from None
        return LLMResponse(
            text=self._text(response),
            model=self._name,
            provider=self.provider,
            usage=_usage(response.usage_metadata),
        )

    def stream(self, request: LLMRequest) -> Iterator[LLMChunk]:
        usage: Usage | None = None
        try:
            for chunk in self._sdk().models.generate_content_stream(**self._call(request)):
                # Every chunk reports usage so far; the last one holds the totals.
                if chunk.usage_metadata is not None:
                    usage = _usage(chunk.usage_metadata)
                if chunk.text:
                    yield LLMChunk(text=chunk.text)
        except LLMError:
            raise
        except Exception as exc:  # the SDK's errors, and anything auth or transport raises
            raise self._error(exc) from None
        if usage is not None:
            yield LLMChunk(usage=usage)
