"""checkov on infra/: no failed check, and every suppression is a decision with its reason.

checkov pins its own dependencies, so it lives in its own venv: `make checkov` (which
`make test` runs first) creates .venv-checkov."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.infra.terraform import INFRA, REPO, require_tool

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    checkov = require_tool(
        str(REPO / ".venv-checkov" / "bin" / "checkov"), "checkov", "run `make checkov`"
    )
    result = subprocess.run(
        # Not --quiet: it drops the skipped checks from the report.
        [checkov, "-d", str(INFRA), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-3000:]
    data = json.loads(result.stdout)
    return data if isinstance(data, dict) else data[0]  # type: ignore[no-any-return]


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    assert report["summary"]["resource_count"] > 50  # it read the generated file too
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}:{f['file_line_range'][0]}): "
        f"{f['check_name']}"
        for f in report["results"]["failed_checks"]
    ]
    assert not failed, "fix, or skip with `#checkov:skip=ID:reason`:\n" + "\n".join(failed)


def test_every_suppression_carries_a_reason() -> None:
    skips = [m for p in INFRA.glob("*.tf") for m in SKIP.finditer(p.read_text())]
    assert skips
    for match in skips:
        reason = (match.group(2) or "").strip()
        assert len(reason) >= 20, f"{match.group(1)} is skipped without a reason"


def test_no_suppression_is_stale(report: dict[str, Any]) -> None:
    written = {m.group(1) for p in INFRA.glob("*.tf") for m in SKIP.finditer(p.read_text())}
    used = {s["check_id"] for s in report["results"]["skipped_checks"]}
    assert written == used, f"skips that no longer match a finding: {sorted(written - used)}"
