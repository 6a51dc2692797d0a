"""The generated Terraform follows the code: stale files and unservable tables are caught."""

from __future__ import annotations

import pytest
from assay.deploy import spec, tfgen, urlmap
from assay.web.routes import Route

from tests.infra.terraform import REPO


def test_committed_generated_files_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in tfgen.stale()]
    assert not stale, f"{', '.join(stale)} stale: run `make infra` and commit the result"


def test_a_hand_edit_of_the_generated_file_is_reported(tmp_path, monkeypatch, capsys) -> None:
    edited = tmp_path / "generated.tf"
    edited.write_text(tfgen.GENERATED_TF.read_text().replace("python311", "python310", 1))
    monkeypatch.setattr(tfgen, "GENERATED_TF", edited)
    monkeypatch.setattr(tfgen, "REPO", tmp_path)
    assert tfgen.main(["--check"]) == 1
    assert "generated.tf is stale: run `make infra`" in capsys.readouterr().err


def test_a_function_without_a_deployment_profile_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(spec, "functions", lambda: ["templates", "reports"])
    with pytest.raises(spec.MissingProfile, match=r"PROFILES\['reports'\].*spec.py"):
        spec.deployed_functions()


def test_two_functions_claiming_one_load_balancer_path_are_refused() -> None:
    routes = [
        Route("/api/v1/traces/<trace_id>", ("GET",), "traces", "x:y"),
        Route("/api/v1/traces/<trace_id>/evaluate", ("POST",), "evaluations", "x:z"),
    ]
    with pytest.raises(urlmap.RouteConflict, match=r"/api/v1/traces/\*"):
        urlmap.path_rules(routes)


@pytest.mark.parametrize(
    ("rule", "paths"),
    [
        ("/", ["/"]),
        ("/runs", ["/runs", "/runs/"]),
        ("/runs/status/<run_id>", ["/runs/status/*"]),
        ("/runs/<run_id>/<case_id>/flag", ["/runs/*"]),
        ("/docs/assets/<asset>", ["/docs/assets/*"]),
    ],
)
def test_load_balancer_paths_of_a_rule(rule: str, paths: list[str]) -> None:
    assert urlmap.lb_paths(rule) == paths
