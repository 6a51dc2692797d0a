"""LLM assessment of one answer against its golden response (pass iff similarity > 0.5)."""

from __future__ import annotations

import json
import re
from typing import Any

from assay.adapters.llm import ChatMessage, LLMClient, LLMError, LLMRequest

DEFAULT_JUDGE_PROMPT = (
    "You are a thorough quality inspector. Compare the statement with the best-known response "
    "and judge whether they say the same thing. Answer with a JSON object with the keys "
    '"answered" (bool), "contradictory" (bool), "equivalent" (bool), "missinginfo" (bool), '
    '"similarity" (a number from 0 to 1) and "similarity_explanation" (a short sentence).'
)
PASS_THRESHOLD = 0.5
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.M)


class JudgeOutputInvalid(ValueError):
    """The judge did not answer JSON with a numeric `similarity` in [0, 1]."""


def judge_prompt(instructions: str | None, answer: str, golden: str) -> str:
    return (
        f"{instructions or DEFAULT_JUDGE_PROMPT}\n\n"
        "Here is your task:\n"
        f"<statement>{answer}</statement>\n"
        f"<best_known_response>{golden}</best_known_response>\n\n"
        'Reply with only the JSON object; it must contain "similarity" between 0 and 1.'
    )


def parse_judgement(text: str) -> dict[str, Any]:
    """The first JSON object in the judge's reply, with a valid `similarity`."""
    cleaned = _FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise JudgeOutputInvalid("the judge's reply holds no JSON object")
    try:
        data = json.loads(cleaned[start : end + 1])
    except json.JSONDecodeError as exc:
        raise JudgeOutputInvalid(f"the judge's reply is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or "similarity" not in data:
        raise JudgeOutputInvalid("the judge's reply has no 'similarity'")
    try:
        similarity = float(data["similarity"])
    except (TypeError, ValueError):
        raise JudgeOutputInvalid("the judge's 'similarity' is not a number") from None
    if not 0.0 <= similarity <= 1.0:
        raise JudgeOutputInvalid(f"the judge's 'similarity' {similarity} is outside [0, 1]")
    data["similarity"] = similarity
    return data


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def assess(judge: LLMClient, instructions: str | None, answer: Any, golden: Any) -> dict[str, Any]:
    """Ask the judge; raises LLMError or JudgeOutputInvalid."""
    request = LLMRequest(
        messages=[
            ChatMessage(
                role="user", content=judge_prompt(instructions, as_text(answer), as_text(golden))
            )
        ],
        temperature=0.0,
        max_tokens=1000,
        json_output=True,
    )
    try:
        reply = judge.generate(request)
    except LLMError:
        raise
    except Exception as exc:  # SDK errors of every provider become one type
        raise LLMError(f"{type(exc).__name__}: {exc}") from exc
    judgement = parse_judgement(reply.text)
    judgement.setdefault("judge", reply.model)
    judgement["judge_usage"] = reply.usage.model_dump()
    return judgement
