"""The `assay` command line against a running `assay serve`, as a user runs it."""

import json
import os
import subprocess
import sys

from tests.support.litmus import template, uid
from tests.support.server import TEST_PASSWORD


def assay(server, *args, check=True):
    env = {**os.environ, "ASSAY_URL": server.url, "ASSAY_PASSWORD": TEST_PASSWORD, "COLUMNS": "160"}
    proc = subprocess.run(
        [sys.executable, "-m", "assay.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_templates_add_submit_wait_and_show(server, sut, tmp_path):
    body = template(sut.url)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(body))
    out = assay(server, "templates", "add", str(path)).stdout
    assert f"Template '{body['template_id']}' added successfully" in out
    assert body["template_id"] in assay(server, "templates", "list").stdout

    run_id = uid("run")
    # One case passes and one fails: --wait shows the table and exits 1 on failures.
    proc = assay(
        server,
        "runs",
        "submit",
        "--template",
        body["template_id"],
        "--run",
        run_id,
        "--wait",
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout and "1 failed" in proc.stdout
    assert "test_case_1" in proc.stdout and "Passed" in proc.stdout

    shown = assay(server, "runs", "show", run_id, "--json").stdout
    assert json.loads(shown)["progress"] == "2/2"
    assert run_id in assay(server, "runs", "list").stdout


def test_errors_are_reported_plainly(server, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    proc = assay(server, "templates", "add", str(bad), check=False)
    assert proc.returncode != 0 and "not valid JSON" in proc.stderr
    proc = assay(server, "runs", "show", "no-such-run", check=False)
    assert proc.returncode != 0 and "HTTP 404" in proc.stderr
    env = {**os.environ, "ASSAY_URL": server.url, "ASSAY_PASSWORD": "wrong"}
    proc = subprocess.run(
        [sys.executable, "-m", "assay.cli", "templates", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "401" in proc.stderr
