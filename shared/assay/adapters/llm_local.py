"""`local:` - a small deterministic offline model for demos and tests. Not a real LLM.

As a judge it reads the statement and the best-known response out of Assay's judge prompt and
scores their lexical similarity; otherwise it answers with a fixed, labelled text derived from
the prompt. Every output says it came from the local provider.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from difflib import SequenceMatcher

from assay.adapters.llm import LLMChunk, LLMRequest, LLMResponse, Usage

STATEMENT = re.compile(r"<statement>(.*?)</statement>", re.S)
GOLDEN = re.compile(r"<best_known_response>(.*?)</best_known_response>", re.S)
_WORD = re.compile(r"\w+", re.U)
TASK = re.compile(r"<task>(\w+)</task>")
MISSION = re.compile(r"<mission>(.*?)</mission>", re.S)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def lexical_similarity(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    if not wa and not wb:
        return 1.0
    if not wa or not wb:
        return 0.0
    sa, sb = set(wa), set(wb)
    jaccard = len(sa & sb) / len(sa | sb)
    order = SequenceMatcher(None, wa, wb, autojunk=False).ratio()
    return round(0.5 * jaccard + 0.5 * order, 4)


def _count(text: str) -> int:
    return max(1, len(_words(text))) if text else 0


class LocalLLM:
    provider = "local"

    def __init__(self, model: str) -> None:
        self.model = model

    def _answer(self, request: LLMRequest) -> str:
        prompt = request.messages[-1].content if request.messages else ""
        statement, golden = STATEMENT.search(prompt), GOLDEN.search(prompt)
        if statement and golden:
            score = lexical_similarity(statement.group(1), golden.group(1))
            return json.dumps(
                {
                    "similarity": score,
                    "equivalent": score > 0.8,
                    "similarity_explanation": (
                        "local: deterministic lexical similarity (word overlap and order); "
                        "offline stand-in, not a language model"
                    ),
                    "judge": f"local:{self.model}",
                }
            )
        task = TASK.search(prompt)
        if task:
            return self._mission(task.group(1), prompt)
        words = _words(prompt)
        topic = " ".join(words[:12]) or "your message"
        return f"[local:{self.model}] A deterministic offline answer about: {topic}."

    def _mission(self, task: str, prompt: str) -> str:
        """Deterministic answers to the mission prompts of services/missions.py."""
        mission = (MISSION.search(prompt) or TASK.search(prompt)).group(1).strip()  # type: ignore[union-attr]
        turns = prompt.count("\nuser: ")
        if task == "mission_user_turn":
            return json.dumps({"request": f"{mission} (turn {turns + 1})"})
        if task == "mission_done_check":
            return "yes" if turns >= 1 else "no"
        return json.dumps(
            {
                "overall_success": "Successful" if turns else "Failed",
                "positive_observations": "local: the system answered every turn",
                "areas_for_improvement": "local: deterministic offline judge, not a language model",
            }
        )

    def generate(self, request: LLMRequest) -> LLMResponse:
        text = self._answer(request)
        prompt_tokens = sum(_count(m.content) for m in request.messages)
        completion = _count(text)
        return LLMResponse(
            text=text,
            model=f"local:{self.model}",
            provider=self.provider,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion,
                total_tokens=prompt_tokens + completion,
            ),
        )

    def stream(self, request: LLMRequest) -> Iterator[LLMChunk]:
        response = self.generate(request)
        pieces = re.findall(r"\S+\s*", response.text)
        for piece in pieces:
            yield LLMChunk(text=piece)
        yield LLMChunk(usage=response.usage)
