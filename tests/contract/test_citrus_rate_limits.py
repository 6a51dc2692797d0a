"""Rate limits over HTTP: the reference table, per user or address, shared by instances."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.citrus import bearer, client, fresh_address, sign_in, unique_email
from tests.support.server import ServeProcess, serving


def _whole_window() -> None:
    """Counters use windows aligned to the minute: start a burst well inside one."""
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60 + 0.2)


def _login(http, **kwargs):
    return http.post("/api/auth/login", json={"email": unique_email()}, **kwargs)


def test_authentication_limit_headers_then_429(server):
    _whole_window()
    with client(server) as http:
        remaining = []
        for _ in range(10):
            r = _login(http)
            assert r.status_code == 200
            assert r.headers["X-RateLimit-Limit"] == "10"
            remaining.append(int(r.headers["X-RateLimit-Remaining"]))
            reset = int(r.headers["X-RateLimit-Reset"])
            assert reset % 60 == 0 and 0 < reset - time.time() <= 60
        assert remaining == list(range(9, -1, -1))

        r = _login(http)
        assert r.status_code == 429
        body = r.json()
        assert body["code"] == "RATE_LIMITED" and body["error"] == "Rate Limit Exceeded"
        assert 1 <= body["retry_after"] <= 60
        assert r.headers["Retry-After"] == str(body["retry_after"])
        assert f"retry after {body['retry_after']} seconds" in body["detail"]
        assert r.headers["X-RateLimit-Remaining"] == "0"
        # Every auth route shares the class; another address is not affected.
        assert http.post("/api/auth/verify-otp", json={}).status_code == 429
    with client(server) as other:
        assert _login(other).status_code == 200


def test_signed_in_users_are_counted_per_user_not_per_address(server):
    _whole_window()
    address = fresh_address()
    with client(server, address) as http:
        a = sign_in(server, http)["access_token"]
    with client(server, fresh_address()) as http:
        b = sign_in(server, http)["access_token"]
    with client(server, address) as http:
        # The address spent 2 of its 10 signing in; user a has a budget of its own.
        for expected in range(9, 2, -1):
            r = http.get("/api/auth/me", headers=bearer(a))
            assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == str(expected)
        r = http.get("/api/auth/me", headers=bearer(b))
        assert r.headers["X-RateLimit-Remaining"] == "9"


def test_refused_tokens_count_against_the_address(server):
    _whole_window()
    with client(server) as http:
        for _ in range(10):
            assert http.get("/api/auth/me", headers=bearer("forged")).status_code == 401
        r = http.get("/api/auth/me", headers=bearer("forged"))
        assert r.status_code == 429 and "Retry-After" in r.headers


def test_litmus_and_health_are_not_limited(server):
    with client(server, auth=("admin", "wrong")) as http:
        for path in ("/health", "/", "/api/info", "/openapi.json", "/templates"):
            r = http.get(path)
            assert r.status_code in (200, 401), path
            assert "X-RateLimit-Limit" not in r.headers, path
        assert all(http.get("/health").status_code == 200 for _ in range(15))


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(server):
    _whole_window()
    with client(server) as http:
        for i in range(10):
            assert _login(http, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 200
        assert _login(http, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data = tmp_path_factory.mktemp("proxied") / "data"
    with serving(data, {"ASSAY_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"}) as proc:
        yield proc


def test_trusted_proxy_chain_gives_the_client_address(behind_proxy):
    _whole_window()
    address = fresh_address()
    with client(behind_proxy, address) as http:
        # Two clients behind the same proxy (and a trusted inner hop) count apart...
        for _ in range(10):
            r = _login(http, headers={"X-Forwarded-For": "203.0.113.7, 10.1.2.3"})
            assert r.status_code == 200
        assert _login(http, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
        assert _login(http, headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 200
        # ...and a client cannot escape by prepending a fake hop: the proxy appends the real one.
        r = _login(http, headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
        assert r.status_code == 429


def test_requests_in_progress_are_capped_per_instance(tmp_path):
    """A client still sending its body holds one of ASSAY_MAX_CONCURRENT_REQUESTS slots."""
    with serving(tmp_path / "data", {"ASSAY_MAX_CONCURRENT_REQUESTS": "1"}) as proc:
        slow = socket.create_connection(("127.0.0.1", proc.port))
        slow.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        time.sleep(0.5)  # the server is now reading that body
        with client(proc) as http:
            r = _login(http)
            assert r.status_code == 429 and r.json()["retry_after"] == 1
            assert "in progress" in r.json()["detail"]
            assert http.get("/health").status_code == 200  # health is never capped
        body = json.dumps({"email": unique_email()}).encode()
        slow.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        slow.settimeout(10)
        head = b""
        while b"\r\n" not in head:
            chunk = slow.recv(4096)
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head
        slow.close()

        # The slot is given back after every kind of answer.
        with client(proc) as http:
            assert http.post("/api/auth/login", json={"email": "bad"}).status_code == 422
            assert http.post("/api/auth/login", content=b"{").status_code == 400
            assert [_login(http).status_code for _ in range(5)] == [200] * 5
