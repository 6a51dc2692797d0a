"""The one rate-limit middleware: authenticate, then count the request for its caller.

The caller is the signed-in user, else the client's address: the socket's, or, when the socket
is a proxy listed in ASSAY_TRUSTED_PROXIES, the nearest X-Forwarded-For entry that is not.
A request refused with 401 still counts, against its address.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from assay.errors import RateLimited, Unauthorized, Unavailable
from assay.services import ratelimit
from assay.web.auth import authenticate
from assay.web.routes import Route

if TYPE_CHECKING:
    from assay.models.citrus import User

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_networks(spec: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted: str) -> str:
    """Walk X-Forwarded-For from the right while the hop we stand on is a trusted proxy."""
    address = request.remote_addr or "unknown"
    networks = trusted_networks(trusted)
    if not networks:
        return address
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    while hops and _trusted(address, networks):
        address = hops.pop()
    return address


def _headers(decision: ratelimit.Decision) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset),
    }
    if decision.retry_after is not None:
        headers["Retry-After"] = str(decision.retry_after)
    return headers


def _limit(route: Route, request: Request, user: User | None) -> dict[str, str]:
    cls = ratelimit.rate_class(route.api, route.rule, request.method)
    if cls is None:
        return {}
    from assay.bootstrap import container

    c = container()
    caller = (
        f"user:{user.id}" if user else f"ip:{client_address(request, c.settings.trusted_proxies)}"
    )
    try:
        decision = ratelimit.check(c.accounts, cls, caller, time.time())
    except Unavailable as exc:
        # Fail open: an outage of the counters must not take the API down with it.
        log.warning("rate limit not checked (%s): %s", cls.name, exc.message)
        return {}
    headers = _headers(decision)
    if decision.retry_after is not None:
        error = RateLimited(
            f"Too many requests. Please retry after {decision.retry_after} seconds.",
            retry_after=decision.retry_after,
        )
        error.headers = headers
        raise error
    return headers


def admit(route: Route, request: Request) -> tuple[User | None, dict[str, str]]:
    """The caller and the rate-limit headers for its response; raises 401 or 429."""
    try:
        user = authenticate(route, request)
    except Unauthorized as exc:
        headers = _limit(route, request, None)
        exc.headers = {**getattr(exc, "headers", {}), **headers}  # type: ignore[attr-defined]
        raise
    return user, _limit(route, request, user)


@cache
def _slots(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


def occupy(route: Route, request: Request) -> Callable[[], None]:
    """Take one of this instance's ASSAY_MAX_CONCURRENT_REQUESTS slots for a limited Citrus
    request (429 when none is free); returns the release, to call once the response is done."""
    if ratelimit.rate_class(route.api, route.rule, request.method) is None:
        return lambda: None
    from assay.bootstrap import container

    slots = _slots(container().settings.max_concurrent_requests)
    if not slots.acquire(blocking=False):
        raise RateLimited("Too many requests in progress; retry after 1 seconds.", retry_after=1)
    return slots.release
