"""`make provider-schema`: snapshot the configuration schema of the Terraform resources infra/
uses, so tests/infra can check attribute names offline (`terraform validate` needs the provider,
which cannot be downloaded here).

The schema comes from the npm packages @cdktf/provider-google and @cdktf/provider-random, which
are generated from the providers' own schemas: for each resource, its arguments (with which are
required) and nested blocks. Only resource types used in infra/*.tf are written, to
tests/infra/provider_schema.json. Needs npm and the npm registry; the tests need neither.

    python scripts/provider_schema.py [--package-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "infra" / "provider_schema.json"
PACKAGES = {"google": "@cdktf/provider-google@16.12.1", "random": "@cdktf/provider-random@12.0.1"}

_ATTR = re.compile(r"^\s{8,}(\w+): \{\n\s+value: (.*?),\n\s+isBlock: (true|false),", re.M | re.S)
_FN = re.compile(r"function (\w+)ToHclTerraform\(struct\) \{")
_PROP = re.compile(
    r"Docs at Terraform Registry: \{@link [^#}]+#(\w+) [^}]*\}\s*(?:\n\s*\*[^\n]*)*\n\s*\*/\n"
    r"\s*readonly (\w+)(\??):",
)


def _object_after(text: str, start: int) -> str:
    """The `{...}` that opens at or after `start`, braces balanced."""
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i : j + 1]
    raise ValueError("unbalanced")


def _attrs(body: str) -> list[tuple[str, str, bool]]:
    # Only the first level of the attrs object: entries indented like the first one.
    first = re.search(r"\n(\s+)\w+: \{", body)
    if not first:
        return []
    indent = first.group(1)
    pattern = re.compile(
        rf"^{indent}(\w+): \{{\n\s+value: (.*?),\n\s+isBlock: (true|false),", re.M | re.S
    )
    return [(m.group(1), m.group(2), m.group(3) == "true") for m in pattern.finditer(body)]


def _interfaces(dts: str) -> dict[str, dict[str, bool]]:
    """interface name -> {snake_name: required}."""
    out: dict[str, dict[str, bool]] = {}
    for m in re.finditer(r"export interface (\w+)(?: extends [\w.]+)? \{", dts):
        body = _object_after(dts, m.end() - 1)
        out[m.group(1)] = {p.group(1): p.group(3) == "" for p in _PROP.finditer(body)}
    return out


def _resource(directory: Path) -> tuple[str, dict[str, Any]] | None:
    js = (directory / "index.js").read_text()
    kind = re.search(r'\.tfResourceType = "(\w+)"', js)
    cls = re.search(r"class (\w+) extends cdktf\.TerraformResource", js)
    if not kind or not cls:
        return None
    dts = _interfaces((directory / "index.d.ts").read_text())
    functions = {
        m.group(1): _object_after(js, js.index("const attrs", m.end()))
        for m in _FN.finditer(js)
        if "const attrs" in js[m.end() : m.end() + 400]
    }

    def schema(attrs_body: str, interface: str) -> dict[str, Any]:
        required = dts.get(interface, {})
        out: dict[str, Any] = {"attributes": {}, "blocks": {}}
        for name, value, is_block in _attrs(attrs_body):
            if is_block:
                fn = re.search(r"(\w+)ToHclTerraform", value)
                assert fn, f"{name}: no struct function in {value!r}"
                nested = fn.group(1)
                out["blocks"][name] = schema(
                    functions.get(nested, "{}"), nested[0].upper() + nested[1:]
                )
            else:
                out["attributes"][name] = {"required": required.get(name, False)}
        return out

    top = js.index("synthesizeHclAttributes()")
    return kind.group(1), schema(
        _object_after(js, js.index("const attrs", top)), cls.group(1) + "Config"
    )


def _used_types() -> set[str]:
    text = "\n".join(p.read_text() for p in (REPO / "infra").glob("*.tf"))
    return set(re.findall(r'^resource "(\w+)"', text, re.M))


def _fetch(spec: str, into: Path) -> Path:
    subprocess.run(["npm", "pack", "--silent", spec], cwd=into, check=True, capture_output=True)
    archive = next(into.glob("*.tgz"))
    target = into / archive.stem
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink()
    return target / "package" / "lib"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package-dir", type=Path, action="append", default=[],
                        help="an unpacked package's lib/ (default: npm pack them)")  # fmt: skip
    args = parser.parse_args()
    used = _used_types()
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        libs = args.package_dir or [
            _fetch(spec, Path(tempfile.mkdtemp(dir=tmp))) for spec in PACKAGES.values()
        ]
        for lib in libs:
            for directory in sorted(p for p in lib.iterdir() if (p / "index.js").is_file()):
                if directory.name.replace("-", "_") not in {t.split("_", 1)[1] for t in used}:
                    continue
                parsed = _resource(directory)
                if parsed and parsed[0] in used:
                    found[parsed[0]] = parsed[1]
    missing = used - set(found)
    if missing:
        raise SystemExit(f"not found in the packages: {sorted(missing)}")
    snapshot = {"source": sorted(PACKAGES.values()), "resources": dict(sorted(found.items()))}
    OUT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(REPO)} ({len(found)} resource types)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
