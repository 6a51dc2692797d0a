"""Any JSON value as a typed Firestore value, and back, losslessly.

Firestore rejects some JSON that systems under test and templates do produce: an array directly
inside an array, a map key that is empty or looks like `__name__`, an integer beyond 64 bits,
nesting deeper than 20 levels. The original stringified every leaf to get around that; here
numbers and booleans stay typed and only those shapes are wrapped, in maps with one reserved
key that no user key can take (user keys starting with `~` get one more `~`):

    [[1, 2]]            -> [{"~list": [1, 2]}]
    {"": 1, "~a": 2}    -> {"~": 1, "~~a": 2}
    2**70, deep values  -> {"~json": "<JSON text>"}
"""

from __future__ import annotations

import json
from typing import Any

LIST_KEY = "~list"
JSON_KEY = "~json"
# Firestore allows 20 levels of maps/arrays in a document; wrapping adds one, so stay below.
MAX_DEPTH = 16
_INT64 = (-(2**63), 2**63 - 1)


def _escape(key: str) -> str:
    if key == "" or key.startswith("~") or (key.startswith("__") and key.endswith("__")):
        return "~" + key
    return key


def _unescape(key: str) -> str:
    return key[1:] if key.startswith("~") else key


def encode(value: Any, depth: int = 0) -> Any:
    """`depth` is how deep `value` sits in its document (a top-level field's value is 1)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else {JSON_KEY: json.dumps(value)}
    if isinstance(value, dict | list | tuple) and depth >= MAX_DEPTH:
        return {JSON_KEY: json.dumps(value, ensure_ascii=False)}
    if isinstance(value, dict):
        return {_escape(str(k)): encode(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [
            {LIST_KEY: encode(item, depth + 2)}
            if isinstance(item, list | tuple)
            else encode(item, depth + 1)
            for item in value
        ]
    raise TypeError(f"cannot store a {type(value).__name__} in Firestore")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            if LIST_KEY in value:
                return decode(value[LIST_KEY])
            if JSON_KEY in value:
                return json.loads(value[JSON_KEY])
        return {_unescape(k): decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value
