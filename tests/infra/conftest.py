from __future__ import annotations

import pytest

from tests.infra.terraform import Terraform, load


@pytest.fixture(scope="session")
def tf() -> Terraform:
    return load()
