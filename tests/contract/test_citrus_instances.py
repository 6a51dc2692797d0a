"""Tokens and rate-limit counters live in the store: they survive a restart of `assay serve`,
and two instances over one Firestore (the emulator) with one signing key (as Secret Manager
gives every instance in production) share accounts, tokens and counters."""

from __future__ import annotations

import secrets
import time
import uuid

import pytest

from tests.support.citrus import bearer, client, code_from_log, fresh_address, sign_in, unique_email
from tests.support.server import serving


def test_a_token_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    with serving(data) as first, client(first) as http:
        token = sign_in(first, http)["access_token"]
        assert http.get("/api/auth/me", headers=bearer(token)).status_code == 200
    with serving(data) as second, client(second) as http:
        r = http.get("/api/auth/me", headers=bearer(token))
        assert r.status_code == 200 and r.json()["id"]


@pytest.mark.emulator
def test_two_instances_share_accounts_tokens_and_counters(tmp_path, firestore_emulator):
    env = {
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "GOOGLE_CLOUD_PROJECT": f"instances-{uuid.uuid4().hex[:10]}",
        "ASSAY_JWT_SECRET": secrets.token_urlsafe(48),
    }
    with serving(tmp_path / "a", env) as a, serving(tmp_path / "b", env) as b:
        address = fresh_address()
        with client(a, address) as on_a:
            email = unique_email("twin")
            assert (
                on_a.post("/api/auth/register", json={"email": email, "name": "T"}).status_code
                == 201
            )
        # The code sent by instance a is accepted by instance b, whose token works on a.
        code = code_from_log(a, email)
        with client(b, address) as on_b:
            r = on_b.post("/api/auth/verify-otp", json={"email": email, "otp": code})
            assert r.status_code == 200
            token = r.json()["access_token"]
        with client(a, fresh_address()) as on_a:
            assert on_a.get("/api/auth/me", headers=bearer(token)).status_code == 200
            assert (
                on_a.post("/api/auth/verify-otp", json={"email": email, "otp": code}).status_code
                == 401
            )

        # One address, alternating instances: the 11th auth request of the minute is refused.
        if time.time() % 60 > 45:
            time.sleep(60 - time.time() % 60 + 0.2)
        other = fresh_address()
        statuses = []
        with client(a, other) as on_a, client(b, other) as on_b:
            for i in range(11):
                http = on_a if i % 2 else on_b
                statuses.append(
                    http.post("/api/auth/login", json={"email": unique_email()}).status_code
                )
        assert statuses == [200] * 10 + [429]
