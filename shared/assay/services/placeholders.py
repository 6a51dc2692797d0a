"""JSON-safe `{placeholder}` substitution inside request specs.

Substitution walks the parsed structure, so a value with quotes or newlines can never break
the request. A string that is exactly one placeholder takes the value with its JSON type;
elsewhere a value is spliced in as text (non-strings as compact JSON). Unknown placeholders
are left as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_\-]*)\}")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def substitute_text(text: str, values: Mapping[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1) in values:
        return values[whole.group(1)]
    if "{" not in text:
        return text
    return _PLACEHOLDER.sub(
        lambda m: _as_text(values[m.group(1)]) if m.group(1) in values else m.group(0), text
    )


def substitute(value: Any, values: Mapping[str, Any]) -> Any:
    """Return a copy of `value` with placeholders filled in every string (keys included)."""
    if isinstance(value, str):
        return substitute_text(value, values)
    if isinstance(value, dict):
        return {
            (_as_text(substitute_text(k, values)) if isinstance(k, str) else k): substitute(
                v, values
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value
