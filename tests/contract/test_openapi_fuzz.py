"""Schemathesis against the /openapi.json of a running `assay serve`: generated requests to every
operation of both APIs find no 5xx and no response outside the documented schemas."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.citrus import client, sign_in
from tests.support.server import TEST_PASSWORD, ServeProcess, serving

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    # Requests carry random X-Forwarded-For addresses from a trusted proxy, so the per-address
    # rate limits spread out and the generated requests reach the handlers.
    env = {"ASSAY_TRUSTED_PROXIES": "127.0.0.0/8"}
    with serving(tmp_path_factory.mktemp("fuzz") / "data", env) as proc:
        yield proc


@pytest.fixture(scope="module")
def credentials(fuzzed: ServeProcess) -> dict[str, str]:
    with client(fuzzed) as http:
        token = sign_in(fuzzed, http)["access_token"]
    basic = base64.b64encode(f"admin:{TEST_PASSWORD}".encode()).decode()
    return {"basicAuth": f"Basic {basic}", "bearerAuth": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api_schema(fuzzed: ServeProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")


def _fuzz(operation: Any, credentials: dict[str, str]) -> Callable[[], None]:
    security = operation.definition.raw.get("security", [])

    @given(case=operation.as_strategy())
    @settings(
        max_examples=6,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        headers = {"X-Forwarded-For": f"198.18.{random.randrange(256)}.{random.randrange(256)}"}
        for requirement in security:
            for name in requirement:
                headers["Authorization"] = credentials[name]
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema, credentials: dict[str, str]
) -> None:
    # One test over every operation (schemathesis' pytest plugin is not ready for pytest 9).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        _fuzz(operation, credentials)()
