"""Test Missions: an LLM plays the user for up to `mission_duration` turns, then judges the
conversation. The same judge model (ASSAY_JUDGE_MODEL) drives both roles."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from assay.adapters.llm import ChatMessage, LLMError, LLMRequest
from assay.services.assessment import as_text
from assay.services.json_paths import MISSING

if TYPE_CHECKING:
    from assay.models.litmus import Case, Run
    from assay.services.case_runner import CaseRunner

TURN_TASK = "mission_user_turn"
DONE_TASK = "mission_done_check"
EVAL_TASK = "mission_evaluation"


def _task_prompt(task: str, mission: str, history: list[dict[str, str]], instructions: str) -> str:
    transcript = "\n".join(f"{m['role']}: {m['content']}" for m in history) or "(no turns yet)"
    return (
        f"<task>{task}</task>\n<mission>{mission}</mission>\n"
        f"<conversation>\n{transcript}\n</conversation>\n{instructions}"
    )


def _ask(runner: CaseRunner, prompt: str, json_output: bool) -> str:
    request = LLMRequest(
        messages=[ChatMessage(role="user", content=prompt)],
        temperature=0.0,
        max_tokens=800,
        json_output=json_output,
    )
    return runner.judge().generate(request).text


def _json(text: str) -> dict[str, Any]:
    start, end = text.find("{"), text.rfind("}")
    data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    if not isinstance(data, dict):
        raise ValueError("no JSON object")
    return data


def run_mission(runner: CaseRunner, run: Run, case: Case) -> dict[str, Any]:
    from assay.services.case_runner import call_failure, call_summary

    mission = case.mission or ""
    history: list[dict[str, str]] = []
    payloads: list[dict[str, Any]] = []
    try:
        for _ in range(run.mission_duration or 1):
            turn = _json(
                _ask(
                    runner,
                    _task_prompt(
                        TURN_TASK,
                        mission,
                        history,
                        'You are the user. Reply with JSON {"request": "<your next message>"}.',
                    ),
                    True,
                )
            )
            utterance = as_text(turn.get("request", ""))
            spec = _fill_query(case.request or {}, utterance)
            call = runner.call(run, case, spec)
            payloads.append(
                {"request": spec.get("body"), "response": call.json_body, **call_summary(call)}
            )
            failure = call_failure(call)
            if failure is not None:
                return {
                    **failure,
                    "turns": len(history) // 2,
                    "conversation": history,
                    "payloads": payloads,
                }
            answer = runner.answer_of(run, call.json_body)
            history += [
                {"role": "user", "content": utterance},
                {"role": "assistant", "content": "" if answer is MISSING else as_text(answer)},
            ]
            done = _ask(
                runner,
                _task_prompt(
                    DONE_TASK, mission, history, "Has the mission been completed? Answer yes or no."
                ),
                False,
            )
            if done.strip().lower().startswith("yes"):
                break
        evaluation = _json(
            _ask(
                runner,
                _task_prompt(
                    EVAL_TASK,
                    mission,
                    history,
                    'Judge the conversation. Reply with JSON {"overall_success": "Successful" | '
                    '"Partially Successful" | "Failed", "positive_observations": "...", '
                    '"areas_for_improvement": "..."}.',
                ),
                True,
            )
        )
    except (LLMError, ValueError) as exc:
        return {
            "status": "Error",
            "error": f"Mission could not be driven by the judge model: {exc}",
            "turns": len(history) // 2,
            "conversation": history,
            "payloads": payloads,
        }
    verdict = evaluation.get("overall_success")
    status = "Passed" if verdict == "Successful" else "Failed"
    return {
        "status": status,
        "turns": len(history) // 2,
        "conversation": history,
        "payloads": payloads,
        "assessment": {"mission_evaluation": evaluation},
    }


def _fill_query(spec: dict[str, Any], utterance: str) -> dict[str, Any]:
    from assay.services.placeholders import substitute

    return substitute(spec, {"query": utterance})
