"""Rate limits of the Citrus API: which class a route is in, and whether a caller is over it.

Counters live in the accounts store (fixed one-minute windows aligned to the clock), so every
instance counts the same requests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assay.adapters.accounts import Accounts


@dataclass(frozen=True)
class RateClass:
    name: str
    limit: int
    window_s: int = 60


AUTHENTICATION = RateClass("Authentication", 10)
CHAT = RateClass("Chat/Evaluations", 60)
ANALYTICS = RateClass("Analytics", 100)
CLASSES = (AUTHENTICATION, CHAT, ANALYTICS)

_EVALUATE = re.compile(r"^/api/v1/traces/<[^>]+>/evaluate$")
# Health and documentation: never limited.
_UNLIMITED = ("/api/info",)


def rate_class(api: str, rule: str, method: str) -> RateClass | None:
    """The class of a route (DECISIONS: rate-limit classes); Litmus routes have none."""
    if api != "citrus" or not rule.startswith("/api/") or rule in _UNLIMITED:
        return None
    if rule.startswith("/api/auth/"):
        return AUTHENTICATION
    if rule.startswith("/api/v1/evaluations/") or (method == "POST" and _EVALUATE.match(rule)):
        return CHAT
    if rule.startswith("/api/v1/"):
        return ANALYTICS
    # Legacy unversioned routes (/api/dual-responses, ...) are chat routes.
    return CHAT


@dataclass(frozen=True)
class Decision:
    limit: int
    remaining: int
    reset: int
    retry_after: int | None

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


def check(accounts: Accounts, cls: RateClass, caller: str, now: float) -> Decision:
    """Count this request for `caller` ("user:<id>" or "ip:<address>") in `cls`."""
    hit = accounts.hit(f"{cls.name}|{caller}", window_s=cls.window_s, now=now)
    over = hit.count > cls.limit
    return Decision(
        limit=cls.limit,
        remaining=max(0, cls.limit - hit.count),
        reset=hit.reset,
        retry_after=max(1, math.ceil(hit.reset - now)) if over else None,
    )
