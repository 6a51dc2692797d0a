"""What `terraform validate` would say about names, offline: every argument and block used in
infra/ exists in the Google/random providers' schema, and every required argument is set.

The schema is a committed snapshot (provider_schema.json, from the providers' published cdktf
bindings; `make provider-schema` refreshes it for new resource types)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform import Terraform

SNAPSHOT = Path(__file__).with_name("provider_schema.json")
META = {"count", "for_each", "depends_on", "lifecycle", "provider"}


def _problems(where: str, body: dict[str, Any], schema: dict[str, Any], top: bool) -> list[str]:
    found = []
    for key, value in body.items():
        if top and key in META:
            continue
        if key == "dynamic":
            for entry in value:
                for name, dyn in entry.items():
                    if name not in schema["blocks"]:
                        found.append(f"{where}: no block {name!r}")
                        continue
                    for content in dyn.get("content", []):
                        found += _problems(
                            f"{where}.{name}", content, schema["blocks"][name], False
                        )
            continue
        is_block = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        if is_block and key in schema["blocks"]:
            for item in value:
                found += _problems(f"{where}.{key}", item, schema["blocks"][key], False)
        elif key in schema["attributes"]:
            if is_block:
                found.append(f"{where}: {key!r} is an argument, written as a block")
        elif key in schema["blocks"]:
            found.append(f"{where}: {key!r} is a block, written as an argument")
        else:
            found.append(f"{where}: no argument or block {key!r}")
    for name, attr in schema["attributes"].items():
        if attr["required"] and name not in body:
            found.append(f"{where}: required argument {name!r} missing")
    return found


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())["resources"]  # type: ignore[no-any-return]


def test_every_resource_type_is_in_the_schema_snapshot(tf: Terraform, schema) -> None:
    missing = sorted(set(tf.resources) - set(schema))
    assert not missing, f"{missing} not in {SNAPSHOT.name}: run `make provider-schema`"


def test_every_argument_and_block_exists_and_required_ones_are_set(tf: Terraform, schema) -> None:
    problems = [
        p
        for kind, named in tf.resources.items()
        if kind in schema
        for name, body in named.items()
        for p in _problems(f"{kind}.{name}", body, schema[kind], True)
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_misspelt_argument(schema) -> None:
    body = {"name": "x", "location": "r", "build_config": [{"entry_pont": "f"}]}
    problems = _problems("f", body, schema["google_cloudfunctions2_function"], True)
    assert problems == ["f.build_config: no argument or block 'entry_pont'"]
