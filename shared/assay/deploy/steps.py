"""Commands of a deployment: printed as a shell script (`--dry-run`) or run one by one.

A step may be skipped when its `unless` check succeeds (the thing exists already), may capture
its output into a `${NAME}` later steps use, may read a secret or a document on stdin (never
printed), and may accept a failure whose message says the thing already exists.
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Stdin:
    """What a step reads on stdin: `shell` is how the printed script produces it, `value` makes
    it when the step runs (so a generated secret never appears in any output)."""

    shell: str
    value: Callable[[], str]
    heredoc: bool = False


def generated_secret(nbytes: int) -> Stdin:
    return Stdin(
        f"python3 -c 'import secrets; print(secrets.token_urlsafe({nbytes}), end=\"\")'",
        lambda: secrets.token_urlsafe(nbytes),
    )


def document(text: str) -> Stdin:
    return Stdin(text.rstrip(), lambda: text, heredoc=True)


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]
    unless: tuple[str, ...] | None = None
    capture: str | None = None
    stdin: Stdin | None = None
    exists_ok: str | None = None
    why: str | None = None


def step(*args: str, **kwargs: object) -> Step:
    return Step(tuple(args), **kwargs)  # type: ignore[arg-type]


def _quote(arg: str) -> str:
    if _VAR.search(arg):
        return '"' + re.sub(r'(["\\`])', r"\\\1", arg) + '"'
    return shlex.quote(arg)


def _join(args: Iterable[str]) -> str:
    return " ".join(_quote(a) for a in args)


def render(s: Step) -> str:
    line = _join(s.args)
    if s.stdin is not None and not s.stdin.heredoc:
        line = f"{s.stdin.shell} | {line}"
    if s.capture:
        line = f"{s.capture}=$({line})"
    if s.unless:
        line = f"{_join(s.unless)} >/dev/null 2>&1 || {line}"
    if s.exists_ok:
        line += f"  # fine if it says: {s.exists_ok}"
    if s.stdin is not None and s.stdin.heredoc:
        line += f" <<'EOF'\n{s.stdin.shell}\nEOF"
    return f"# {s.why}\n{line}" if s.why else line


def script(steps: list[Step]) -> str:
    return "set -euo pipefail\n\n" + "\n".join(render(s) for s in steps) + "\n"


class StepFailed(RuntimeError):
    pass


Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def execute(steps: list[Step], out: TextIO = sys.stdout, run: Runner = subprocess.run) -> None:
    values: dict[str, str] = {}

    def expand(args: tuple[str, ...]) -> list[str]:
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise StepFailed(f"${{{m.group(1)}}} is used before a step captured it")
            return values[m.group(1)]

        return [_VAR.sub(sub, a) for a in args]

    for s in steps:
        if s.unless is not None:
            check = run(expand(s.unless), capture_output=True, text=True, check=False)
            if check.returncode == 0:
                print(f"= exists: {_join(s.unless)}", file=out, flush=True)
                continue
        print(f"+ {_join(s.args)}", file=out, flush=True)
        result = run(
            expand(s.args),
            input=s.stdin.value() if s.stdin else None,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            if s.exists_ok and s.exists_ok.lower() in (result.stderr or "").lower():
                continue
            raise StepFailed(
                f"`{_join(s.args)}` failed ({result.returncode}):\n{(result.stderr or '')[-2000:]}"
            )
        if s.capture:
            values[s.capture] = result.stdout.strip()
