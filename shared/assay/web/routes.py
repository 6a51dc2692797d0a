"""The one routing table: path pattern -> function -> handler.

It drives each function's own dispatch (web/app.py), `assay serve`'s URL map (local/server.py),
the OpenAPI document and the Terraform URL map; tests/unit/test_routes.py proves they agree.
Handlers and models are named as strings so importing the table costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Api = Literal["litmus", "citrus"]
Auth = Literal["basic", "bearer", "none"]


@dataclass(frozen=True)
class Route:
    rule: str
    methods: tuple[str, ...]
    function: str
    handler: str
    api: Api = "litmus"
    auth: Auth = "basic"
    summary: str = ""
    body: str | None = None
    status: int = 200


def _litmus(
    rule: str,
    method: str,
    function: str,
    handler: str,
    summary: str,
    body: str | None = None,
    status: int = 200,
) -> Route:
    return Route(
        rule,
        (method,),
        function,
        f"assay.web.litmus:{handler}",
        "litmus",
        "basic",
        summary,
        f"assay.models.litmus:{body}" if body else None,
        status,
    )


ROUTES: tuple[Route, ...] = (
    # templates
    _litmus(
        "/templates/add", "POST", "templates", "add_template", "Add a test template", "TemplateIn"
    ),
    _litmus(
        "/templates/update",
        "PUT",
        "templates",
        "update_template",
        "Update a test template",
        "TemplateUpdate",
    ),
    _litmus("/templates", "GET", "templates", "list_templates", "List test templates"),
    _litmus("/templates/<template_id>", "GET", "templates", "get_template", "Get a test template"),
    _litmus(
        "/templates/<template_id>",
        "DELETE",
        "templates",
        "delete_template",
        "Delete a test template",
    ),
    # runs
    _litmus("/runs/submit", "POST", "runs", "submit_run", "Submit a test run", "SubmitRun"),
    _litmus(
        "/runs/submit_simple",
        "POST",
        "runs",
        "submit_simple",
        "Submit a run with the template's requests",
        "SubmitRun",
    ),
    _litmus(
        "/runs/invoke", "POST", "runs", "invoke_run", "Run an existing test run again", "InvokeRun"
    ),
    _litmus("/runs", "GET", "runs", "list_runs", "List test runs, newest first"),
    _litmus("/runs/status/<run_id>", "GET", "runs", "run_status", "Status and results of a run"),
    _litmus(
        "/runs/status_fields/<run_id>",
        "GET",
        "runs",
        "status_fields",
        "Date, template and fields of a run",
    ),
    _litmus(
        "/runs/all_results/<template_id>",
        "GET",
        "runs",
        "all_results",
        "Results of every run of a template",
    ),
    _litmus("/runs/<run_id>", "DELETE", "runs", "delete_run", "Delete a run and its cases"),
    _litmus("/runs/<run_id>/<case_id>/flag", "PUT", "runs", "flag_case", "Toggle a case's flag"),
    _litmus(
        "/runs/<run_id>/<case_id>/rate", "PUT", "runs", "rate_case", "Rate a case 1-5", "RateBody"
    ),
    _litmus(
        "/runs/<run_id>/<case_id>/comment",
        "POST",
        "runs",
        "comment_case",
        "Comment on a case",
        "CommentBody",
        201,
    ),
    # platform
    _litmus("/version", "GET", "platform", "version", "Version of the API"),
    Route(
        "/health",
        ("GET",),
        "platform",
        "assay.web.platform:health",
        "citrus",
        "none",
        "Health of the platform",
    ),
)

# CloudEvent functions have no routes: they are triggered by Pub/Sub (see infra/).
EVENT_FUNCTIONS: dict[str, str] = {"worker": "worker"}


def functions() -> list[str]:
    """Every HTTP function, in table order."""
    seen: dict[str, None] = {}
    for route in ROUTES:
        seen.setdefault(route.function, None)
    return list(seen)


def routes_of(function: str) -> list[Route]:
    return [r for r in ROUTES if r.function == function]
