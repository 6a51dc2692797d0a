"""JSON paths of the Litmus filters: `a.b[0][1].c`, comma-separated lists of them.

A path selects one value; a missing key, an out-of-range index or a step into a scalar
means "not there", which callers treat as "omit", never as an error.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Step = str | int
_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")
MISSING = object()


@lru_cache(maxsize=1024)
def parse_path(path: str) -> tuple[Step, ...]:
    """`a.b[0][1]` -> ("a", "b", 0, 1). Raises ValueError on a malformed path."""
    path = path.strip()
    if path.startswith("$."):
        path = path[2:]
    if not path:
        raise ValueError("empty JSON path")
    steps: list[Step] = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None or (not match.group(1) and not match.group(2)):
            raise ValueError(f"malformed JSON path '{path}' (use a.b[0].c)")
        if match.group(1):
            steps.append(match.group(1))
        steps.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(steps)


def parse_filter(text: str | None) -> tuple[str, ...]:
    """A comma-separated filter -> the paths in it (validated). Empty -> ()."""
    if text is None:
        return ()
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    for p in paths:
        parse_path(p)
    return paths


def get_path(data: Any, path: str) -> Any:
    """The value at `path`, or MISSING."""
    current = data
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return MISSING
            current = current[step]
    return current


def apply_filter(data: Any, paths: tuple[str, ...]) -> Any:
    """No paths: the whole value. Otherwise a flat object keyed by path, missing paths omitted."""
    if not paths:
        return data
    out: dict[str, Any] = {}
    for p in paths:
        value = get_path(data, p)
        if value is not MISSING:
            out[p] = value
    return out
