"""Which routes are limited, how hard, and whose address a request comes from."""

from __future__ import annotations

import pytest
from assay.services.ratelimit import ANALYTICS, AUTHENTICATION, CHAT, rate_class
from assay.web.ratelimit import client_address
from assay.web.routes import ROUTES
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request


@pytest.mark.parametrize(
    ("api", "rule", "method", "expected"),
    [
        ("citrus", "/api/auth/register", "POST", AUTHENTICATION),
        ("citrus", "/api/auth/me", "GET", AUTHENTICATION),
        ("citrus", "/api/v1/evaluations/dual-responses", "POST", CHAT),
        ("citrus", "/api/v1/evaluations/stats", "GET", CHAT),
        ("citrus", "/api/dual-responses", "POST", CHAT),
        ("citrus", "/api/v1/traces/<trace_id>/evaluate", "POST", CHAT),
        ("citrus", "/api/v1/traces/<trace_id>", "GET", ANALYTICS),
        ("citrus", "/api/v1/traces", "GET", ANALYTICS),
        ("citrus", "/api/v1/models/performance", "GET", ANALYTICS),
        ("citrus", "/api/v1/analytics/realtime", "GET", ANALYTICS),
        ("citrus", "/", "GET", None),
        ("citrus", "/health", "GET", None),
        ("citrus", "/api/info", "GET", None),
        ("citrus", "/docs", "GET", None),
        ("litmus", "/runs/submit", "POST", None),
    ],
)
def test_classes_of_the_reference_table(api, rule, method, expected):
    assert rate_class(api, rule, method) == expected
    assert (AUTHENTICATION.limit, CHAT.limit, ANALYTICS.limit) == (10, 60, 100)


def test_no_litmus_route_is_limited():
    for route in ROUTES:
        if route.api == "litmus":
            assert all(rate_class(route.api, route.rule, m) is None for m in route.methods)


def _request(remote: str, forwarded: str | None = None) -> Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    env = EnvironBuilder(path="/", headers=headers, environ_base={"REMOTE_ADDR": remote})
    return Request(env.get_environ())


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", "", "203.0.113.9"),  # nobody trusted: the socket
        ("203.0.113.9", "1.2.3.4", "10.0.0.0/8", "203.0.113.9"),  # not from the proxy
        ("10.0.0.5", "1.2.3.4", "10.0.0.0/8", "1.2.3.4"),
        ("10.0.0.5", "6.6.6.6, 1.2.3.4", "10.0.0.0/8", "1.2.3.4"),  # spoofed left entry
        ("10.0.0.5", "1.2.3.4, 10.9.9.9", "10.0.0.0/8", "1.2.3.4"),  # two proxies
        ("10.0.0.5", None, "10.0.0.0/8", "10.0.0.5"),
        ("10.0.0.5", "garbage", "10.0.0.0/8", "garbage"),
        ("::1", "2001:db8::7", "::1/128", "2001:db8::7"),
    ],
)
def test_client_address(remote, forwarded, trusted, expected):
    assert client_address(_request(remote, forwarded), trusted) == expected
