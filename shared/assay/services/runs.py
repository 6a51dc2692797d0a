"""Run use cases: submit, re-invoke, read, compare, annotate, delete."""

from __future__ import annotations

import uuid
from typing import Any

from assay.adapters.queue import Queue
from assay.adapters.store import Store
from assay.errors import AssayError, BadRequest, NotFound, Unavailable
from assay.models.litmus import Case, CaseMessage, InvokeRun, RequestSpec, Run, SubmitRun, Template
from assay.services.assessment import as_text
from assay.services.json_paths import MISSING, apply_filter, get_path, parse_filter
from assay.services.placeholders import substitute
from assay.timeutil import now_iso


def _spec(spec: RequestSpec | None) -> dict[str, Any] | None:
    return spec.model_dump() if spec is not None else None


def build_cases(
    template: Template, test_request: RequestSpec, pre: RequestSpec | None, post: RequestSpec | None
) -> list[Case]:
    """One case per template_data item not marked `"block": true`, numbered in order."""
    cases: list[Case] = []
    request, pre_d, post_d = _spec(test_request), _spec(pre), _spec(post)
    items = [item for item in template.template_data if item.get("block") is not True]
    for n, item in enumerate(items, start=1):
        mission = template.template_type == "Test Mission"
        # A mission's {query} is filled per turn by the simulated user, so it is kept as is.
        values = {k: v for k, v in item.items() if not (mission and k == "query")}
        cases.append(
            Case(
                id=f"test_case_{n}",
                index=n,
                request=substitute(request, values),
                pre_request=substitute(pre_d, values) if pre_d else None,
                post_request=substitute(post_d, values) if post_d else None,
                golden_response=item.get("response"),
                mission=as_text(item.get("query", "")) if mission else None,
                tracing_id=str(uuid.uuid4()),
            )
        )
    return cases


def _publish(store: Store, queue: Queue, run: Run, cases: list[Case]) -> None:
    payloads = [
        CaseMessage(run_id=run.run_id, case_id=c.id, generation=run.generation)
        .model_dump_json()
        .encode()
        for c in cases
    ]
    try:
        queue.publish(payloads)
    except AssayError as exc:
        store.fail_run(run.run_id, f"could not queue the test cases: {exc.message}", now_iso())
        raise Unavailable(f"Run '{run.run_id}' could not be queued: {exc.message}") from exc


def submit_run(store: Store, queue: Queue, body: SubmitRun) -> str:
    """Each of test_request, pre_request and post_request comes from the body, else the template."""
    template = store.get_template(body.template_id)
    if template is None:
        raise NotFound(f"Test template '{body.template_id}' not found")
    test_request = body.test_request or template.test_request
    if test_request is None:
        raise BadRequest("Missing 'test_request' in request data (and the template has none)")
    cases = build_cases(
        template,
        test_request,
        body.pre_request or template.test_pre_request,
        body.post_request or template.test_post_request,
    )
    now = now_iso()
    run = Run(
        run_id=body.run_id,
        template_id=template.template_id,
        template_type=template.template_type,
        total=len(cases),
        start_time=now,
        status="Completed" if not cases else "Not Started",
        end_time=now if not cases else None,
        template_input_field=template.template_input_field,
        template_output_field=template.template_output_field,
        template_llm_prompt=template.template_llm_prompt,
        mission_duration=template.mission_duration,
        evaluation_types=body.evaluation_types or template.evaluation_types,
        auth_token=body.auth_token,
    )
    store.create_run(run, cases)
    _publish(store, queue, run, cases)
    return _submitted(run)


def _submitted(run: Run) -> str:
    return f"{run.template_type} '{run.run_id}' submitted successfully using template '{run.template_id}'"


def invoke_run(store: Store, queue: Queue, body: InvokeRun) -> str:
    """Run the same cases again as a new generation; late messages of the old one are ignored."""
    run = store.get_run(body.run_id)
    if run is None:
        raise NotFound(f"Run with ID '{body.run_id}' not found")
    if run.template_id != body.template_id:
        raise BadRequest(
            f"Run '{body.run_id}' belongs to template '{run.template_id}', not '{body.template_id}'"
        )
    fresh = [
        c.model_copy(update={"result": None, "tracing_id": str(uuid.uuid4())})
        for c in store.list_cases(run.run_id)
    ]
    restarted = store.restart_run(run.run_id, fresh, now_iso())
    _publish(store, queue, restarted, fresh)
    return _submitted(restarted)


def delete_run(store: Store, run_id: str) -> str:
    if not store.delete_run(run_id):
        raise NotFound(f"Run with ID '{run_id}' not found")
    return f"Run '{run_id}' deleted successfully"


def _get_run(store: Store, run_id: str) -> Run:
    run = store.get_run(run_id)
    if run is None:
        raise NotFound(f"Run with ID '{run_id}' not found")
    return run


def _filters(text: str | None, name: str) -> tuple[str, ...]:
    try:
        return parse_filter(text)
    except ValueError as exc:
        raise BadRequest(f"Invalid '{name}': {exc}", field=name) from None


def run_status(
    store: Store,
    run_id: str,
    *,
    request_filter: str | None = None,
    response_filter: str | None = None,
    golden_response_filter: str | None = None,
    flagged: bool | None = None,
    rating: int | None = None,
) -> dict[str, Any]:
    req_paths = _filters(request_filter, "request_filter")
    resp_paths = _filters(response_filter, "response_filter")
    gold_paths = _filters(golden_response_filter, "golden_response_filter")
    run = _get_run(store, run_id)
    cases = store.list_cases(run_id, flagged=flagged, rating=rating)
    return {
        "run_id": run.run_id,
        "status": run.status,
        "progress": run.progress,
        "template_id": run.template_id,
        "template_type": run.template_type,
        "template_input_field": run.template_input_field,
        "template_output_field": run.template_output_field,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "summary": {
            "total": run.total,
            "done": run.done,
            "passed": run.passed,
            "failed": run.failed,
            "errors": run.errors,
            "completed": run.completed,
        },
        **({"error": run.error} if run.error else {}),
        "testCases": [
            {
                "id": c.id,
                "status": c.result.get("status") if c.result else "Pending",
                "request": apply_filter(c.request, req_paths),
                "response": apply_filter(c.result, resp_paths),
                "golden_response": apply_filter(c.golden_response, gold_paths),
                "tracing_id": c.tracing_id,
                "flagged": c.flagged,
                "rating": c.rating,
                "comments": c.comments,
                "comment_count": len(c.comments),
            }
            for c in cases
        ],
    }


def status_fields(store: Store, run_id: str) -> dict[str, Any]:
    run = _get_run(store, run_id)
    return {
        "run_date": run.start_time,
        "template_id": run.template_id,
        "template_type": run.template_type,
        "template_input_field": run.template_input_field,
        "template_output_field": run.template_output_field,
    }


def list_runs(
    store: Store, template_type: str | None = None, template_id: str | None = None
) -> dict[str, Any]:
    runs = store.list_runs(template_id)
    if template_type is not None:
        runs = [r for r in runs if r.template_type == template_type]
    return {"runs": [r.public() for r in runs]}


def all_results(
    store: Store, template_id: str, request_filter: str | None, response_filter: str | None
) -> dict[str, Any]:
    """Every run of the template, grouped by the value at `request_filter` in each case's request."""
    paths = _filters(request_filter, "request_filter")
    if len(paths) != 1:
        raise BadRequest("'request_filter' must be exactly one JSON path", field="request_filter")
    resp_paths = _filters(response_filter, "response_filter")
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in sorted(store.list_runs(template_id), key=lambda r: r.start_time):
        for case in store.list_cases(run.run_id):
            value = get_path(case.request, paths[0])
            if value is MISSING:
                continue
            groups.setdefault(as_text(value), []).append(
                {
                    "start_time": run.start_time,
                    "end_time": run.end_time,
                    "run_id": run.run_id,
                    "template_type": run.template_type,
                    "case_id": case.id,
                    "data": apply_filter(case.result, resp_paths),
                }
            )
    return groups


def toggle_flag(store: Store, run_id: str, case_id: str) -> str:
    store.toggle_flag(run_id, case_id)
    return f"Test case '{case_id}' flagged status updated successfully"


def rate_case(store: Store, run_id: str, case_id: str, rating: int) -> str:
    store.set_rating(run_id, case_id, rating)
    return f"Test case '{case_id}' rated successfully"


def comment_case(store: Store, run_id: str, case_id: str, comment: str) -> str:
    store.add_comment(run_id, case_id, comment)
    return f"Comment added to test case '{case_id}' successfully"
