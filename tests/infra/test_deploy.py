"""`make deploy` (gcloud) and `gcloud builds submit` (cloudbuild.yaml): what they would run,
checked without a Google Cloud project; gcloud and bq are stand-ins that record their calls."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from assay.deploy import gcloud, urlmap
from assay.deploy.spec import deployed_functions
from assay.deploy.steps import StepFailed, execute, render

from tests.infra.terraform import REPO

FAKE = """#!/bin/sh
echo "$0 $*" >> "$FAKE_LOG"
case "$*" in
  *--format=value*) echo "fake-value" ;;
  *" describe "*|*" show "*) exit 1 ;;
esac
"""


@pytest.fixture()
def fake_cloud(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "bq"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log)}
    return env, log


def _dry_run(env: dict[str, str], *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "assay.deploy.gcloud", "--project=demo-project",
         "--region=europe-west1", "--dry-run", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_deploy_passes_project_region_and_dry_run() -> None:
    recipe = subprocess.run(
        ["make", "-n", "deploy", "PROJECT=demo-project", "REGION=europe-west1", "DRY_RUN=1"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    commands = recipe.stdout.replace("\\\n", " ").splitlines()
    line = next(x for x in commands if "assay.deploy.gcloud" in x)
    assert '--project="demo-project"' in line and '--region="europe-west1"' in line
    assert "--dry-run" in line


def test_dry_run_prints_every_command_and_runs_none(fake_cloud) -> None:
    env, log = fake_cloud
    script = _dry_run(env, "--proxy", "openai=https://api.openai.com")
    assert not log.exists(), "a dry run called gcloud or bq"
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    for fn in deployed_functions():
        names = ["assay-proxy-openai"] if fn.kind == "proxy" else [f"assay-{fn.resource_name}"]
        for name in names:
            deploy = next(
                line for line in script.splitlines() if f"gcloud functions deploy {name} " in line
            )
            args = shlex.split(deploy)
            assert f"--entry-point={fn.target}" in args
            assert "--runtime=python311" in args
            assert f"--source=dist/functions/{fn.name}" in args
            assert (
                f"--service-account=assay-{fn.resource_name}@demo-project.iam.gserviceaccount.com"
                in args
            )
    assert "assay-proxy=openai" in script
    assert re.search(r"subscriptions create assay-test-cases-worker .*--dead-letter-topic=", script)
    assert re.search(
        r"subscriptions create assay-test-cases-dead-letter-worker .*WORKER_URL", script
    )


def test_dry_run_url_map_sends_every_route_path_to_its_function(fake_cloud) -> None:
    env, _ = fake_cloud
    script = _dry_run(env)
    heredoc = script.split("gcloud compute url-maps import assay-api ", 1)[1].split("\nEOF", 1)[0]
    document = yaml.safe_load(heredoc.split("<<'EOF'\n", 1)[1])
    served = {
        path: rule["service"].rsplit("/", 1)[1]
        for rule in document["pathMatchers"][0]["pathRules"]
        for path in rule["paths"]
    }
    for path, fn in urlmap.path_rules().items():
        assert served[path] == f"assay-{fn.replace('_', '-')}"


def test_generated_secrets_are_piped_never_printed(fake_cloud) -> None:
    env, _ = fake_cloud
    script = _dry_run(env)
    for line in script.splitlines():
        if "gcloud secrets create" in line:
            assert "--data-file=-" in line and "token_urlsafe" in line


def _calls(answers: dict[str, str]):
    calls: list[tuple[list[str], str | None]] = []

    def run(args, input=None, **kwargs):  # noqa: A002 - subprocess.run's keyword
        calls.append((list(args), input))
        joined = " ".join(args)
        code = 1 if (" describe " in f" {joined} " or " show " in f" {joined} ") else 0
        out = next((v for k, v in answers.items() if k in joined), "")
        if out:
            code = 0
        return subprocess.CompletedProcess(args, code, out, "")

    return calls, run


def test_deploy_runs_the_plan_in_order_with_captured_values(tmp_path) -> None:
    cfg = gcloud.DeployConfig(project="demo-project", region="europe-west1")
    steps = gcloud.plan(cfg)
    answers = {
        "projectNumber": "123456789",
        "value(address)": "203.0.113.7",
        "value(serviceConfig.uri)": "https://worker.example",
    }
    calls, run = _calls(answers)
    with open(tmp_path / "out.txt", "w") as out:
        execute(steps, out=out, run=run)
    ran = [" ".join(a) for a, _ in calls]
    # Created after their existence checks failed, in plan order.
    topic = ran.index(
        "gcloud pubsub topics create assay-test-cases --message-retention-duration=1d --project=demo-project"
    )
    deploy = next(
        i for i, c in enumerate(ran) if c.startswith("gcloud functions deploy assay-runs ")
    )
    assert topic < deploy
    # Captured values reach later commands.
    assert any("ASSAY_TRUSTED_PROXIES=203.0.113.7/32," in c for c in ran)
    assert any("--push-endpoint=https://worker.example" in c for c in ran)
    assert any("service-123456789@gcp-sa-pubsub" in c for c in ran)
    # A generated secret goes in on stdin, never in an argument or the output.
    stdin = {" ".join(a): i for a, i in calls if a[:3] == ["gcloud", "secrets", "create"]}
    values = [v for v in stdin.values() if v]
    assert len(values) == 3 and all(len(v) >= 32 for v in values)
    text = (tmp_path / "out.txt").read_text()
    assert not any(v in text or any(v in c for c in ran) for v in values)


def test_existing_resources_are_left_alone_and_a_failure_stops_the_deploy() -> None:
    cfg = gcloud.DeployConfig(project="demo-project", region="europe-west1")
    steps = gcloud.plan(cfg)
    ran: list[str] = []

    def run(args, input=None, **kwargs):  # noqa: A002
        joined = " ".join(args)
        ran.append(joined)
        if "functions deploy assay-runs" in joined:
            return subprocess.CompletedProcess(args, 1, "", "PERMISSION_DENIED")
        return subprocess.CompletedProcess(args, 0, "v", "")  # everything exists

    with open(os.devnull, "w") as sink, pytest.raises(StepFailed, match="PERMISSION_DENIED"):
        execute(steps, out=sink, run=run)
    assert not any(" create " in c and "indexes" not in c and "rules" not in c for c in ran)
    assert not any("functions deploy assay-platform" in c for c in ran)  # stopped at runs


def test_render_shows_checks_captures_and_tolerated_errors() -> None:
    cfg = gcloud.DeployConfig(project="p", region="r")
    lines = [render(s) for s in gcloud.plan(cfg)]
    assert any(line.startswith("PROJECT_NUMBER=$(gcloud projects describe p") for line in lines)
    assert any(">/dev/null 2>&1 || gcloud pubsub topics create" in line for line in lines)
    assert any("# fine if it says: already exists" in line for line in lines)


# -- Cloud Build ---------------------------------------------------------------------------


def test_cloud_build_tests_then_packages_then_deploys() -> None:
    build = yaml.safe_load((REPO / "cloudbuild.yaml").read_text())
    steps = {s["id"]: s for s in build["steps"]}
    assert steps["lint-and-test"]["args"] == ["test"]
    assert steps["package"]["args"] == ["package"]
    assert "lint-and-test" in steps["package"]["waitFor"]
    assert "package" in steps["terraform-init"]["waitFor"]
    assert steps["deploy"]["waitFor"] == ["terraform-init"]
    apply = steps["deploy"]["args"]
    assert "apply" in apply and "-var=project=${_PROJECT}" in apply
    assert "-var=region=${_REGION}" in apply


def test_cloud_build_substitutions_are_declared_and_used() -> None:
    text = (REPO / "cloudbuild.yaml").read_text()
    build = yaml.safe_load(text)
    declared = set(build["substitutions"])
    body = text.split("substitutions:", 1)[1].split("\noptions:", 1)[1]
    used = set(re.findall(r"\$\{(_[A-Z_]+)\}", body))
    assert used == declared, "Cloud Build refuses undeclared and unused substitutions"
    assert {"_PROJECT", "_REGION"} <= declared


def test_deploy_calls_gcloud_and_bq_for_real(fake_cloud, tmp_path) -> None:
    from assay.deploy import package

    package.build(tmp_path / "functions")
    env, log = fake_cloud
    result = subprocess.run(
        [sys.executable, "-m", "assay.deploy.gcloud", "--project=demo-project",
         "--region=europe-west1", f"--package-dir={tmp_path / 'functions'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calls = log.read_text()
    assert "gcloud functions deploy assay-platform " in calls
    assert "bq --project_id=demo-project mk --table" in calls
    assert "deployed: https://" in result.stdout


def test_deploy_refuses_to_start_without_bundles(fake_cloud, tmp_path) -> None:
    env, log = fake_cloud
    result = subprocess.run(
        [sys.executable, "-m", "assay.deploy.gcloud", "--project=demo-project",
         "--region=europe-west1", f"--package-dir={tmp_path / 'none'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and "run make package" in result.stderr
    assert not log.exists()
