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
    # "module:Class" of the success body, for /openapi.json (None: a JSON value, or
    # `{"message"}` on Litmus routes).
    response: str | None = None
    # Media type of the success body ("a, b" when it varies), for /openapi.json.
    media: str = "application/json"
    # "module:Class" whose fields are the route's query parameters (ApiRequest.params).
    query: str | None = None


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


_AUTH_MODELS = {
    "register": ("RegisterIn", "OtpSent"),
    "login": ("LoginIn", "OtpSent"),
    "verify_otp": ("VerifyOtpIn", "TokenOut"),
    "me": (None, "MeOut"),
}


def _auth(
    rule: str, method: str, handler: str, summary: str, auth: Auth = "none", status: int = 200
) -> Route:
    body, response = _AUTH_MODELS[handler]
    return Route(
        rule,
        (method,),
        "auth",
        f"assay.web.accounts:{handler}",
        "citrus",
        auth,
        summary,
        f"assay.models.citrus:{body}" if body else None,
        status,
        f"assay.models.citrus:{response}",
    )


def _platform(
    rule: str,
    handler: str,
    summary: str,
    response: str | None = None,
    media: str = "application/json",
) -> Route:
    return Route(
        rule,
        ("GET",),
        "platform",
        f"assay.web.platform:{handler}",
        "citrus",
        "none",
        summary,
        response=f"assay.models.citrus:{response}" if response else None,
        media=media,
    )


def _proxy_data(
    rule: str, handler: str, summary: str, response: str, query: str | None = None
) -> Route:
    return Route(
        rule,
        ("GET",),
        "proxy_data",
        f"assay.web.proxy_data:{handler}",
        summary=summary,
        response=f"assay.models.proxy:{response}",
        query=f"assay.models.proxy:{query}" if query else None,
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
    # proxy logs and proxies (the proxies themselves: PROXY_FUNCTIONS)
    _proxy_data(
        "/proxy/data",
        "proxy_data",
        "Logged LLM calls of a day (raw or flattened)",
        "LoggedCalls",
        "LogRowsQuery",
    ),
    _proxy_data(
        "/proxy/litmus_data",
        "litmus_data",
        "Logged calls to systems under test",
        "LoggedCalls",
        "LogRowsQuery",
    ),
    _proxy_data(
        "/proxy/agg", "proxy_agg", "Tokens and average latency per context", "AggRows", "LogQuery"
    ),
    _proxy_data("/proxy/list_services", "list_services", "The LLM proxies", "ProxyServices"),
    # Citrus accounts
    _auth("/api/auth/register", "POST", "register", "Create an account, email a code", status=201),
    _auth("/api/auth/login", "POST", "login", "Email a one-time code"),
    _auth("/api/auth/verify-otp", "POST", "verify_otp", "Trade a code for a bearer token"),
    _auth("/api/auth/me", "GET", "me", "The signed-in user", auth="bearer"),
    # Citrus platform (health, info, documentation)
    _platform("/", "root", "API information and endpoints", "RootOut"),
    _platform("/health", "health", "Health of the platform", "HealthOut"),
    _platform("/api/info", "info", "Platform information and enforced limits", "InfoOut"),
    _platform("/openapi.json", "openapi", "This OpenAPI document (both APIs)"),
    _platform("/docs", "swagger_ui", "Swagger UI (offline)", media="text/html"),
    _platform("/redoc", "redoc", "ReDoc (offline)", media="text/html"),
    _platform(
        "/docs/assets/<asset>",
        "docs_asset",
        "Static files of /docs and /redoc",
        media="text/javascript, text/css",
    ),
)

# CloudEvent functions have no routes: they are triggered by Pub/Sub (see infra/).
EVENT_FUNCTIONS: dict[str, str] = {"worker": "worker"}

# The LLM proxy forwards any path to its one upstream: no routes, one deployment per upstream
# (labelled `assay-proxy`), an ASGI function (functions_framework.aio).
PROXY_FUNCTIONS: dict[str, str] = {"proxy": "proxy"}


def functions() -> list[str]:
    """Every HTTP function, in table order."""
    seen: dict[str, None] = {}
    for route in ROUTES:
        seen.setdefault(route.function, None)
    return list(seen)


def routes_of(function: str) -> list[Route]:
    return [r for r in ROUTES if r.function == function]
