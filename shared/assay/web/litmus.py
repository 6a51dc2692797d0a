"""Litmus handlers: parse the request, call a service, return what to render."""

from __future__ import annotations

from typing import Any

from assay.models.litmus import (
    CommentBody,
    InvokeRun,
    RateBody,
    SubmitRun,
    TemplateIn,
    TemplateUpdate,
)
from assay.services import runs, templates
from assay.web.app import ApiRequest


def add_template(req: ApiRequest) -> str:
    return templates.add_template(req.c.store, req.model(TemplateIn))


def update_template(req: ApiRequest) -> str:
    return templates.update_template(req.c.store, req.model(TemplateUpdate))


def list_templates(req: ApiRequest) -> dict[str, Any]:
    return templates.list_templates(req.c.store, req.query.get("type"))


def get_template(req: ApiRequest) -> dict[str, Any]:
    return templates.get_template(req.c.store, req.args["template_id"])


def delete_template(req: ApiRequest) -> str:
    return templates.delete_template(req.c.store, req.args["template_id"])


def submit_run(req: ApiRequest) -> str:
    return runs.submit_run(req.c.store, req.c.queue, req.model(SubmitRun))


def submit_simple(req: ApiRequest) -> str:
    body = req.model(SubmitRun)
    simple = SubmitRun(run_id=body.run_id, template_id=body.template_id, auth_token=body.auth_token)
    return runs.submit_run(req.c.store, req.c.queue, simple)


def invoke_run(req: ApiRequest) -> str:
    return runs.invoke_run(req.c.store, req.c.queue, req.model(InvokeRun))


def list_runs(req: ApiRequest) -> dict[str, Any]:
    return runs.list_runs(req.c.store, req.query.get("type"), req.query.get("template_id"))


def run_status(req: ApiRequest) -> dict[str, Any]:
    return runs.run_status(
        req.c.store,
        req.args["run_id"],
        request_filter=req.query.get("request_filter"),
        response_filter=req.query.get("response_filter"),
        golden_response_filter=req.query.get("golden_response_filter"),
        flagged=req.flag("flagged"),
        rating=req.integer("rating", low=0, high=5),
    )


def status_fields(req: ApiRequest) -> dict[str, Any]:
    return runs.status_fields(req.c.store, req.args["run_id"])


def all_results(req: ApiRequest) -> dict[str, Any]:
    return runs.all_results(
        req.c.store,
        req.args["template_id"],
        req.query.get("request_filter"),
        req.query.get("response_filter"),
    )


def delete_run(req: ApiRequest) -> str:
    return runs.delete_run(req.c.store, req.args["run_id"])


def flag_case(req: ApiRequest) -> str:
    return runs.toggle_flag(req.c.store, req.args["run_id"], req.args["case_id"])


def rate_case(req: ApiRequest) -> str:
    return runs.rate_case(
        req.c.store, req.args["run_id"], req.args["case_id"], req.model(RateBody).rating
    )


def comment_case(req: ApiRequest) -> str:
    return runs.comment_case(
        req.c.store, req.args["run_id"], req.args["case_id"], req.model(CommentBody).comment
    )


def version(req: ApiRequest) -> dict[str, Any]:
    from assay import __version__

    return {"version": __version__}
