"""`assay`: serve locally, and drive a running Assay over HTTP (templates, runs)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8000"


class Api:
    """A small HTTP client of the Litmus API with credentials from the environment."""

    def __init__(self, url: str, username: str, password: str | None) -> None:
        import httpx

        auth = (username, password) if password else None
        self.client = httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=60.0)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach {self.client.base_url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:500]}
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else body
            detail = body.get("detail") if isinstance(body, dict) else None
            raise click.ClickException(f"HTTP {response.status_code}: {detail or message}")
        return body


def _password(data_dir: str) -> str | None:
    if os.environ.get("ASSAY_PASSWORD"):
        return os.environ["ASSAY_PASSWORD"]
    local = Path(data_dir) / "secrets" / "api_password"
    return local.read_text().strip() if local.exists() else None


@click.group()
@click.option(
    "--url", envvar="ASSAY_URL", default=DEFAULT_URL, show_default=True, help="Assay base URL."
)
@click.option(
    "--data-dir",
    envvar="ASSAY_DATA_DIR",
    default=".assay",
    show_default=True,
    help="Local data dir (for the generated API password).",
)
@click.pass_context
def main(ctx: click.Context, url: str, data_dir: str) -> None:
    """Assay: test, evaluate and observe LLM applications."""
    ctx.obj = {"url": url, "data_dir": data_dir}


def _api(ctx: click.Context) -> Api:
    obj = ctx.obj
    return Api(obj["url"], os.environ.get("ASSAY_USERNAME", "admin"), _password(obj["data_dir"]))


@main.command()
@click.option("--host", envvar="ASSAY_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    envvar="ASSAY_WORKER_CONCURRENCY",
    default=None,
    type=int,
    help="Test cases executed at once (default 64).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None) -> None:
    """Serve every function locally on embedded adapters."""
    import logging

    from assay.bootstrap import container
    from assay.local.server import LocalServer
    from assay.local.server import serve as run_server

    os.environ.setdefault("ASSAY_DATA_DIR", ctx.obj["data_dir"])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = container().settings
    concurrency = workers or settings.worker_concurrency

    def ready(server: LocalServer) -> None:
        c = server.container
        lines = [
            f"Assay {_version()} serving on {server.url}  (data: {Path(settings.data_dir).resolve()})"
        ]
        lines += [f"  {name:<10} {urls}" for name, urls in server.urls()]
        lines.append(f"  health     {server.url}/health")
        if settings.disable_auth:
            lines.append("  Litmus auth: disabled (DISABLE_AUTH)")
        elif settings.password:
            lines.append(
                f"  Litmus auth: HTTP Basic, user '{settings.username}', password from ASSAY_PASSWORD"
            )
        else:
            c.api_password()
            lines.append(
                f"  Litmus auth: HTTP Basic, user '{settings.username}', password in "
                f"{c.secrets.path('api_password')}"
            )
        click.echo("\n".join(lines), err=False)
        sys.stdout.flush()

    try:
        run_server(host, port, concurrency, on_ready=ready)
    except ValueError as exc:  # a setting that cannot be used (e.g. ASSAY_PROXY_UPSTREAMS)
        raise click.ClickException(str(exc)) from None


def _version() -> str:
    from assay import __version__

    return __version__


def _show(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@main.group()
def templates() -> None:
    """Manage test templates."""


@templates.command("add")
@click.argument("file", type=click.File("r"))
@click.pass_context
def templates_add(ctx: click.Context, file: Any) -> None:
    """Add the template in FILE (JSON, as POST /templates/add takes it)."""
    try:
        body = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{file.name} is not valid JSON: {exc}") from None
    click.echo(_api(ctx).call("POST", "/templates/add", json=body)["message"])


@templates.command("list")
@click.pass_context
def templates_list(ctx: click.Context) -> None:
    for item in _api(ctx).call("GET", "/templates").get("templates", []):
        click.echo(f"{item['template_id']}\t{item['template_type']}")


@templates.command("show")
@click.argument("template_id")
@click.pass_context
def templates_show(ctx: click.Context, template_id: str) -> None:
    _show(_api(ctx).call("GET", f"/templates/{template_id}"))


@templates.command("delete")
@click.argument("template_id")
@click.pass_context
def templates_delete(ctx: click.Context, template_id: str) -> None:
    click.echo(_api(ctx).call("DELETE", f"/templates/{template_id}")["message"])


@main.group()
def runs() -> None:
    """Submit and inspect test runs."""


@runs.command("submit")
@click.option("--template", "template_id", required=True)
@click.option("--run", "run_id", required=True)
@click.option(
    "--auth-token", envvar="ASSAY_RUN_AUTH_TOKEN", default=None, help="Value of {auth_token}."
)
@click.option("--wait/--no-wait", default=False, help="Show progress until the run finishes.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait at most.")
@click.pass_context
def runs_submit(
    ctx: click.Context,
    template_id: str,
    run_id: str,
    auth_token: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Submit a run of TEMPLATE with the template's own requests."""
    api = _api(ctx)
    body: dict[str, Any] = {"run_id": run_id, "template_id": template_id}
    if auth_token:
        body["auth_token"] = auth_token
    click.echo(api.call("POST", "/runs/submit_simple", json=body)["message"])
    if wait:
        status = _wait(api, run_id, timeout)
        _summary(status)
        if (
            status["status"] != "Completed"
            or status["summary"]["failed"]
            or status["summary"]["errors"]
        ):
            sys.exit(1)


def _wait(api: Api, run_id: str, timeout: float) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(run_id, total=None, counts="")
        while True:
            status = api.call("GET", f"/runs/status/{run_id}", params={"response_filter": "status"})
            s = status["summary"]
            counts = f"[green]{s['passed']} passed[/] [red]{s['failed']} failed[/] [yellow]{s['errors']} error[/]"
            progress.update(
                task,
                total=s["total"],
                completed=s["done"],
                counts=counts,
                description=f"{run_id} {status['status']}",
            )
            if status["status"] in ("Completed", "Failed"):
                return api.call("GET", f"/runs/status/{run_id}")
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"run {run_id} still {status['status']} after {timeout:.0f} s"
                )
            time.sleep(0.25)


def _summary(status: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Run {status['run_id']} - {status['status']} ({status['progress']})")
    for col in ("case", "status", "HTTP", "latency ms", "similarity", "error"):
        table.add_column(col)
    colours = {"Passed": "green", "Failed": "red", "Error": "yellow", "Completed": "cyan"}
    for case in status["testCases"]:
        result = case["response"] or {}
        similarity = ((result.get("assessment") or {}).get("llm_assessment") or {}).get(
            "similarity"
        )
        st = result.get("status", "Pending")
        table.add_row(
            case["id"],
            f"[{colours.get(st, 'white')}]{st}[/]",
            str(result.get("status_code", "")),
            str(result.get("latency_ms", "")),
            "" if similarity is None else f"{similarity:.2f}",
            (result.get("error") or "")[:60],
        )
    console.print(table)
    s = status["summary"]
    console.print(
        f"[green]{s['passed']} passed[/], [red]{s['failed']} failed[/], "
        f"[yellow]{s['errors']} error[/], {s['completed']} completed of {s['total']}"
    )


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the raw status document.")
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    status = _api(ctx).call("GET", f"/runs/status/{run_id}")
    _show(status) if as_json else _summary(status)


@runs.command("list")
@click.pass_context
def runs_list(ctx: click.Context) -> None:
    for run in _api(ctx).call("GET", "/runs")["runs"]:
        click.echo(
            f"{run['run_id']}\t{run['template_id']}\t{run['status']}\t{run['progress']}\t{run['start_time']}"
        )


@runs.command("invoke")
@click.argument("run_id")
@click.option("--template", "template_id", required=True)
@click.pass_context
def runs_invoke(ctx: click.Context, run_id: str, template_id: str) -> None:
    click.echo(
        _api(ctx).call("POST", "/runs/invoke", json={"run_id": run_id, "template_id": template_id})[
            "message"
        ]
    )


@runs.command("delete")
@click.argument("run_id")
@click.pass_context
def runs_delete(ctx: click.Context, run_id: str) -> None:
    click.echo(_api(ctx).call("DELETE", f"/runs/{run_id}")["message"])


if __name__ == "__main__":
    main()
