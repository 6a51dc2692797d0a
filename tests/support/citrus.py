"""Citrus accounts in tests: sign in as a user would, reading the code where the server put it.

Each test talks from its own loopback address (127.0.0.0/8 all reaches 127.0.0.1), so the
per-address rate limits of one test never spill into another's.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any

import httpx

from tests.support.server import ServeProcess

_addresses = itertools.count(2)


def fresh_address() -> str:
    n = next(_addresses)
    return f"127.0.{n // 250}.{n % 250 + 2}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def client(server: ServeProcess, address: str | None = None, **kwargs: Any) -> httpx.Client:
    """A client without credentials, from its own source address."""
    transport = httpx.HTTPTransport(local_address=address or fresh_address())
    return httpx.Client(base_url=server.url, transport=transport, timeout=30, **kwargs)


def codes_in_log(server: ServeProcess, email: str) -> list[str]:
    """Every one-time code the server wrote to its log for `email`, oldest first."""
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    return re.findall(rf"OTP for {re.escape(email)}: (\d{{6}})", text)


def code_from_log(server: ServeProcess, email: str, before: int = 0, timeout: float = 5.0) -> str:
    """The code that appeared after the first `before` ones (the log is flushed by lines)."""
    deadline = time.monotonic() + timeout
    while True:
        codes = codes_in_log(server, email)
        if len(codes) > before:
            return codes[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no code for {email} in {server.log}")
        time.sleep(0.05)


def sign_in(
    server: ServeProcess, http: httpx.Client, email: str | None = None, name: str = "Test User"
) -> dict[str, Any]:
    """Register, read the code from the server log, verify it: the /verify-otp body."""
    email = email or unique_email()
    seen = len(codes_in_log(server, email))
    r = http.post("/api/auth/register", json={"email": email, "name": name})
    assert r.status_code == 201, r.text
    code = code_from_log(server, email, seen)
    r = http.post("/api/auth/verify-otp", json={"email": email, "otp": code})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
