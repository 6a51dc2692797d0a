"""`make package`: the exact source each function is deployed from, built offline.

`dist/functions/<name>/` holds the function's `main.py`, the `assay` package and a
`requirements.txt` pinning every runtime dependency (pyproject.toml's `dependencies` and what
they pull in) to the version installed in this venv; `dist/functions/<name>.zip` is the same
tree zipped reproducibly (sorted entries, fixed timestamps), so its hash changes only when its
content does: Terraform names the uploaded object after that hash.
"""

from __future__ import annotations

import argparse
import shutil
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import cast

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from assay.deploy.spec import FUNCTIONS_DIR, REPO, deployed_functions

PACKAGE_DIR = REPO / "shared" / "assay"
DIST = REPO / "dist" / "functions"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache")
_EPOCH = (1980, 1, 1, 0, 0, 0)


class NotInstalled(RuntimeError):
    pass


def _project_requirements() -> list[Requirement]:
    with (REPO / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    return [Requirement(r) for r in project["dependencies"]]


def pinned_requirements() -> list[str]:
    """`name==version` for the runtime closure of pyproject's dependencies, as installed."""
    pins: dict[str, str] = {}
    pending = [(r, frozenset(r.extras)) for r in _project_requirements()]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req, extras = pending.pop()
        name = canonicalize_name(req.name)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise NotInstalled(
                f"{req.name} (required by the functions) is not installed: run `make install`"
            ) from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise NotInstalled(f"{req.name} {dist.version} does not satisfy {req}")
        pins[name] = dist.version
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is not None:
                base = cast(dict[str, str], default_environment())
                contexts = [{**base, "extra": e} for e in (extras or {""})]
                if not any(sub.marker.evaluate(ctx) for ctx in contexts):
                    continue
            pending.append((sub, frozenset(sub.extras)))
    pins.pop(canonicalize_name("assay"), None)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _zip(tree: Path, target: Path) -> None:
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def build(out: Path = DIST, names: list[str] | None = None) -> list[Path]:
    """Write one bundle (directory and zip) per deployed function; returns the directories."""
    wanted = [f.name for f in deployed_functions()]
    unknown = sorted(set(names or []) - set(wanted))
    if unknown:
        raise SystemExit(f"not a deployed function: {', '.join(unknown)} (known: {wanted})")
    requirements = (
        "# Pinned by `make package` from pyproject.toml and the versions installed in .venv.\n"
        + "\n".join(pinned_requirements())
        + "\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for name in names or wanted:
        bundle = out / name
        if bundle.exists():
            shutil.rmtree(bundle)
        bundle.mkdir()
        shutil.copy2(FUNCTIONS_DIR / name / "main.py", bundle / "main.py")
        shutil.copytree(PACKAGE_DIR, bundle / "assay", ignore=_IGNORE)
        (bundle / "requirements.txt").write_text(requirements)
        _zip(bundle, out / f"{name}.zip")
        built.append(bundle)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.deploy.package", description=__doc__)
    parser.add_argument("functions", nargs="*", help="only these (default: every function)")
    parser.add_argument("--out", type=Path, default=DIST, help=f"default: {DIST}")
    args = parser.parse_args(argv)
    for bundle in build(args.out, args.functions or None):
        print(f"packaged {bundle}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
