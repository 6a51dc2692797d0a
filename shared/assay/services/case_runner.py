"""The worker's use case: execute one test case, assess it, record it once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from assay.adapters.llm import LLMClient, LLMError
from assay.adapters.store import Store
from assay.models.litmus import Case, CaseMessage, CaseStatus, Run
from assay.services.assessment import JudgeOutputInvalid, assess
from assay.services.http_calls import CallResult, CaseHTTP
from assay.services.json_paths import MISSING, get_path
from assay.services.missions import run_mission
from assay.services.placeholders import substitute
from assay.timeutil import now_iso

log = logging.getLogger(__name__)
TEXT_LIMIT = 2000
UNSUPPORTED_EVALUATORS = (
    "is not available in Assay: it needs its own model stack; use llm_assessment"
)


class CaseRunner:
    def __init__(self, store: Store, http: CaseHTTP, judge: Callable[[], LLMClient]) -> None:
        self.store = store
        self.http = http
        self.judge = judge

    def handle(self, message: CaseMessage, *, dead_letter_after: int | None = None) -> None:
        """Execute the case unless it is already done. `dead_letter_after` set means the queue
        gave up delivering it: the case is recorded as Error so the run still finishes."""
        run = self.store.get_run(message.run_id)
        if run is None or run.generation != message.generation or run.status == "Failed":
            return  # deleted, re-invoked since, or failed as a whole: nothing to do
        case = self.store.get_case(message.run_id, message.case_id)
        if case is None or case.final or case.generation != message.generation:
            return
        result: dict[str, Any]
        if dead_letter_after is not None:
            result = {
                "status": "Error",
                "error": f"Case could not be executed: gave up after {dead_letter_after} deliveries",
                "tracing_id": case.tracing_id,
            }
            self.store.record_result(
                run.run_id, case.id, run.generation, result, "Error", now_iso()
            )
            return
        if run.status == "Not Started":
            self.store.mark_running(run.run_id, run.generation)
        started = now_iso()
        try:
            result = self.execute(run, case)
        except Exception as exc:  # a bug in one case must not stall the run
            log.exception("case %s/%s crashed", run.run_id, case.id)
            result = {
                "status": "Error",
                "error": f"Case could not be executed: {type(exc).__name__}: {exc}",
            }
        result.setdefault("tracing_id", case.tracing_id)
        result["started_at"], result["finished_at"] = started, now_iso()
        outcome: CaseStatus = result["status"]
        self.store.record_result(
            run.run_id, case.id, run.generation, result, outcome, result["finished_at"]
        )

    # -- execution -------------------------------------------------------------------------
    def _secrets(self, run: Run) -> dict[str, Any]:
        return {"auth_token": run.auth_token} if run.auth_token is not None else {}

    def _side_call(
        self, spec: dict[str, Any] | None, run: Run, case: Case, result: dict[str, Any], key: str
    ) -> None:
        if not spec:
            return
        call = self.http.send(substitute(spec, self._secrets(run)), case.tracing_id, retry=False)
        if not call.ok:
            result[f"{key}_error"] = call.error or f"HTTP {call.status_code}"

    def execute(self, run: Run, case: Case) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self._side_call(case.pre_request, run, case, result, "pre_request")
        if run.template_type == "Test Mission":
            result.update(run_mission(self, run, case))
        else:
            result.update(self._test_run(run, case))
        self._side_call(case.post_request, run, case, result, "post_request")
        return result

    def call(self, run: Run, case: Case, spec: dict[str, Any]) -> CallResult:
        return self.http.send(substitute(spec, self._secrets(run)), case.tracing_id)

    def _test_run(self, run: Run, case: Case) -> dict[str, Any]:
        call = self.call(run, case, case.request or {})
        result = call_summary(call)
        failure = call_failure(call)
        if failure is not None:
            result.update(failure)
            return result
        result["response"] = call.json_body
        evaluations = run.evaluation_types
        if not evaluations.any:
            result["status"] = "Completed"
            return result
        assessment: dict[str, Any] = {}
        if evaluations.ragas:
            assessment["ragas_evaluation"] = {"error": f"ragas {UNSUPPORTED_EVALUATORS}"}
        for metric in evaluations.deepeval:
            assessment[f"{metric}_deepeval_evaluation"] = {
                "error": f"deepeval {UNSUPPORTED_EVALUATORS}"
            }
        result["assessment"] = assessment
        result["status"] = "Completed"
        if evaluations.llm_assessment:
            status, extra = self._judge(run, case, call.json_body, assessment)
            result["status"] = status
            result.update(extra)
        return result

    def answer_of(self, run: Run, body: Any) -> Any:
        return get_path(body, run.template_output_field) if run.template_output_field else body

    def _judge(
        self, run: Run, case: Case, body: Any, assessment: dict[str, Any]
    ) -> tuple[CaseStatus, dict[str, Any]]:
        golden = case.golden_response
        if golden is None or golden == "":
            return "Passed", {"note": "No golden response available"}
        answer = self.answer_of(run, body)
        if answer is MISSING or answer is None or answer == "":
            field = run.template_output_field or "the response"
            return "Failed", {"error": f"No response available at '{field}'"}
        try:
            judgement = assess(self.judge(), run.template_llm_prompt, answer, golden)
        except JudgeOutputInvalid as exc:
            return "Error", {"error": f"LLM assessment returned an invalid response: {exc}"}
        except LLMError as exc:
            return "Error", {"error": f"LLM assessment failed: {exc}"}
        assessment["llm_assessment"] = judgement
        return ("Passed" if judgement["similarity"] > 0.5 else "Failed"), {}


def call_summary(call: CallResult) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "status_code": call.status_code,
        "latency_ms": call.latency_ms,
        "attempts": call.attempts,
    }
    return summary


def call_failure(call: CallResult) -> dict[str, Any] | None:
    """The result fields of a call that did not give a usable answer, or None."""
    if call.status_code is None:
        return {
            "status": "Error",
            "error": f"Request to the system under test failed: {call.error}",
        }
    if not call.ok:
        failure: dict[str, Any] = {
            "status": "Failed",
            "error": f"API request failed: the system under test answered HTTP {call.status_code}",
        }
        if call.is_json:
            failure["response"] = call.json_body
        else:
            failure["response_text"] = call.text[:TEXT_LIMIT]
        return failure
    if not call.is_json:
        return {
            "status": "Failed",
            "error": f"API request failed: the system under test answered non-JSON ({call.content_type or 'no content type'})",
            "response_text": call.text[:TEXT_LIMIT],
        }
    return None
