"""A small HCL writer whose output is already `terraform fmt` clean: two-space indents, and the
`=` of consecutive one-line attributes aligned (a blank line, comment, block or multi-line value
ends the run, as in hclwrite)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Expr(str):
    """A raw HCL expression, written as is (`var.project`, `google_x.y.id`, `"${...}"`)."""


def interp(template: str) -> Expr:
    """A quoted string with `${...}` interpolations (quotes inside them are HCL, unescaped)."""
    return Expr(f'"{template}"')


@dataclass
class Comment:
    text: str


@dataclass
class Blank:
    pass


@dataclass
class Block:
    kind: str
    labels: tuple[str, ...] = ()
    body: list[Item] = field(default_factory=list)

    def attr(self, name: str, value: HCLValue) -> Block:
        self.body.append(Attr(name, value))
        return self

    def add(self, *items: Item) -> Block:
        self.body.extend(items)
        return self


@dataclass
class Attr:
    name: str
    value: HCLValue


Item = Union[Attr, Block, Comment, Blank]  # noqa: UP007 - recursive alias, runtime-evaluated
HCLValue = Union[  # noqa: UP007
    str, int, float, bool, None, Expr, Sequence["HCLValue"], dict[str, "HCLValue"]
]


def string(value: str) -> str:
    """A literal HCL string: JSON escapes, and template sequences escaped."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _key(name: str) -> str:
    return name if _IDENT.match(name) else string(name)


def value(v: HCLValue, indent: int) -> str:
    pad = "  " * indent
    if isinstance(v, Expr):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return json.dumps(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, dict):
        if not v:
            return "{}"
        inner = _lines([Attr(k, x) for k, x in v.items()], indent + 1, keys=True)
        return "{\n" + "\n".join(inner) + "\n" + pad + "}"
    items = [value(x, indent + 1) for x in v]
    one_line = "[" + ", ".join(items) + "]"
    if all("\n" not in i for i in items) and len(pad) + len(one_line) <= 100:
        return one_line
    return "[\n" + "".join(f"{pad}  {i},\n" for i in items) + pad + "]"


def _lines(items: list[Item], indent: int, keys: bool = False) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        out.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for item in items:
        if isinstance(item, Attr):
            name = _key(item.name) if keys else item.name
            rendered = value(item.value, indent)
            if "\n" in rendered:
                flush()
                out.append(f"{pad}{name} = {rendered}")
            else:
                run.append((name, rendered))
            continue
        flush()
        if isinstance(item, Blank):
            out.append("")
        elif isinstance(item, Comment):
            # checkov reads `#checkov:skip=ID:reason` only without a space after the `#`.
            mark = "#" if item.text.startswith("checkov:") else "# "
            out.extend(f"{pad}{mark}{line}".rstrip() for line in item.text.splitlines())
        else:
            out.extend(block(item, indent))
    flush()
    return out


def block(b: Block, indent: int = 0) -> list[str]:
    pad = "  " * indent
    head = " ".join([b.kind, *(string(label) for label in b.labels)])
    if not b.body:
        return [f"{pad}{head} {{", f"{pad}}}"]
    return [f"{pad}{head} {{", *_lines(b.body, indent + 1), f"{pad}}}"]


def document(items: list[Item]) -> str:
    return "\n".join(_lines(items, 0)) + "\n"
