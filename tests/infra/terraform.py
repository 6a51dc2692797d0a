"""infra/*.tf read with python-hcl2, into plain dicts: resources[type][name] -> body, nested
blocks as lists of dicts, strings without their quotes, expressions as `${...}` strings."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from tests.support.emulators import in_ci

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
_EXPR = re.compile(r"^\$\{(.*)\}$", re.S)


def expr(value: Any) -> str:
    """`${google_x.y.id}` -> `google_x.y.id`; anything else unchanged (as a string)."""
    m = _EXPR.match(str(value))
    return m.group(1) if m else str(value)


@dataclass
class Terraform:
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.resources.get(kind, {})

    def all_text(self) -> str:
        return "\n".join(self.text.values())


def load(directory: Path = INFRA) -> Terraform:
    tf = Terraform()
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        tf.text[path.name] = text
        doc = hcl2.loads(text, serialization_options=_OPTIONS)
        for entry in doc.get("resource", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    assert name not in tf.resources.get(kind, {}), f"{kind}.{name} twice"
                    tf.resources.setdefault(kind, {})[name] = body
        for entry in doc.get("variable", []):
            tf.variables.update(entry)
        for entry in doc.get("locals", []):
            tf.locals.update(entry)
        for entry in doc.get("output", []):
            tf.outputs.update(entry)
    return tf


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The one nested block `name` of a resource body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one {name} block"
    return blocks[0]  # type: ignore[no-any-return]


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return list(body.get(name) or [])


def require_tool(path: str | None, what: str, how: str) -> str:
    """The tool's path; in CI a missing tool fails the test, elsewhere it skips it."""
    found = path if path and os.access(path, os.X_OK) else None
    if found is None:
        message = f"{what} is not available: {how}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


def terraform_binary() -> str:
    return require_tool(
        shutil.which("terraform"), "terraform", "install the terraform CLI (see docs/deploy.md)"
    )
