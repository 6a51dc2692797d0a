"""`terraform fmt` needs no provider: it checks every .tf file, generated ones included."""

from __future__ import annotations

import subprocess

from tests.infra.terraform import INFRA, terraform_binary


def test_infra_is_terraform_fmt_clean() -> None:
    result = subprocess.run(
        [terraform_binary(), "fmt", "-check", "-recursive", "-diff", "-no-color", str(INFRA)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive infra`:\n{result.stdout}"
