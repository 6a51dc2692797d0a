"""Citrus accounts over real HTTP against `assay serve` (no SMTP: codes go to the server log)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import jwt
import pytest
from assay.adapters.sqlite_accounts import SQLiteAccounts
from assay.models.citrus import User

from tests.support.citrus import (
    bearer,
    client,
    code_from_log,
    codes_in_log,
    sign_in,
    unique_email,
)
from tests.support.server import ServeProcess

ENVELOPE = {"error", "detail", "code", "timestamp"}


def _envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ENVELOPE, body
    assert body["code"] == code and body["timestamp"].endswith("Z")
    return body


def _seed_user(server: ServeProcess, email: str, name: str = "Seeded") -> User:
    """An account made earlier (no pending code): straight into the server's accounts store."""
    accounts = SQLiteAccounts(server.data_dir / "accounts.db")
    try:
        return accounts.create_user(
            User(id=uuid.uuid4().hex, email=email, name=name, created_at="2026-01-01T00:00:00.000Z")
        )
    finally:
        accounts.close()


def _jwt_key(server: ServeProcess) -> str:
    return (server.data_dir / "secrets" / "jwt_signing_key").read_text().strip()


def test_register_verify_me(server):
    email = unique_email("alice")
    with client(server) as http:
        r = http.post("/api/auth/register", json={"email": email.upper(), "name": "Alice A"})
        assert r.status_code == 201
        assert r.json() == {"message": "OTP sent to email", "email": email}
        code = code_from_log(server, email)
        r = http.post("/api/auth/verify-otp", json={"email": email, "otp": code})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 2592000
        assert body["user"]["email"] == email and body["user"]["name"] == "Alice A"

        token = body["access_token"]
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, _jwt_key(server), algorithms=["HS256"])
        assert claims["sub"] == body["user"]["id"] and claims["email"] == email
        assert claims["exp"] - claims["iat"] == 2592000

        me = http.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200
        got = me.json()
        assert {k: got[k] for k in ("id", "email", "name")} == body["user"]
        assert got["created_at"].endswith("Z")


def test_an_existing_account_logs_in_again(server):
    email = unique_email("back")
    user = _seed_user(server, email, "Returning")
    with client(server) as http:
        r = http.post("/api/auth/login", json={"email": email})
        assert r.status_code == 200 and r.json() == {"message": "OTP sent to email", "email": email}
        code = code_from_log(server, email)
        r = http.post("/api/auth/verify-otp", json={"email": email, "otp": code})
        assert r.status_code == 200 and r.json()["user"]["id"] == user.id


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "a@b", "two@@example.com", "", "  ", "a b@example.com", 42, None],
)
def test_malformed_email_is_422_naming_the_field(server, email):
    with client(server) as http:
        for path, extra in (
            ("/api/auth/register", {"name": "X"}),
            ("/api/auth/login", {}),
            ("/api/auth/verify-otp", {"otp": "123456"}),
        ):
            body = _envelope(
                http.post(path, json={"email": email, **extra}), 422, "VALIDATION_ERROR"
            )
            assert body["field"] == "email" and "email" in body["detail"]


def test_unknown_email_gets_the_same_answer_and_no_email(server):
    known, unknown = unique_email("known"), unique_email("ghost")
    _seed_user(server, known)
    with client(server) as http:
        a = http.post("/api/auth/login", json={"email": known})
        b = http.post("/api/auth/login", json={"email": unknown})
        assert a.status_code == b.status_code == 200
        assert a.json() == {"message": "OTP sent to email", "email": known}
        assert b.json() == {"message": "OTP sent to email", "email": unknown}
        assert set(a.headers) == set(b.headers)
        code_from_log(server, known)
        time.sleep(0.3)
        assert codes_in_log(server, unknown) == []
        # A second request within 60 s is throttled for both alike.
        a2 = http.post("/api/auth/login", json={"email": known})
        b2 = http.post("/api/auth/login", json={"email": unknown})
        assert a2.status_code == b2.status_code == 429
        # Guessing codes for the unknown email fails exactly like a wrong one for a known.
        wrong_known = http.post("/api/auth/verify-otp", json={"email": known, "otp": "000000"})
        wrong_unknown = http.post("/api/auth/verify-otp", json={"email": unknown, "otp": "000000"})
        assert {k: v for k, v in wrong_known.json().items() if k != "timestamp"} == {
            k: v for k, v in wrong_unknown.json().items() if k != "timestamp"
        }
        # Register for a known email is answered like a new one, and sends a login code.
        again = unique_email("again")
        _seed_user(server, again, "First Name")
        r = http.post("/api/auth/register", json={"email": again, "name": "Someone Else"})
        assert r.status_code == 201 and r.json() == {"message": "OTP sent to email", "email": again}
        token = http.post(
            "/api/auth/verify-otp", json={"email": again, "otp": code_from_log(server, again)}
        ).json()
        assert token["user"]["name"] == "First Name"


def test_wrong_otp_is_401_invalid_otp(server):
    email = unique_email()
    with client(server) as http:
        http.post("/api/auth/register", json={"email": email, "name": "W"})
        code = code_from_log(server, email)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        _envelope(
            http.post("/api/auth/verify-otp", json={"email": email, "otp": wrong}),
            401,
            "INVALID_OTP",
        )
        # ... and the right one still works afterwards.
        assert (
            http.post("/api/auth/verify-otp", json={"email": email, "otp": code}).status_code == 200
        )


def test_reused_otp_is_refused(server):
    email = unique_email()
    with client(server) as http:
        http.post("/api/auth/register", json={"email": email, "name": "R"})
        code = code_from_log(server, email)
        assert (
            http.post("/api/auth/verify-otp", json={"email": email, "otp": code}).status_code == 200
        )
        _envelope(
            http.post("/api/auth/verify-otp", json={"email": email, "otp": code}),
            401,
            "INVALID_OTP",
        )


def test_six_wrong_tries_then_the_right_code_is_refused(server):
    email = unique_email()
    with client(server) as http:
        http.post("/api/auth/register", json={"email": email, "name": "Six"})
        code = code_from_log(server, email)
        wrong = f"{(int(code) + 7) % 1_000_000:06d}"
        for _ in range(6):
            _envelope(
                http.post("/api/auth/verify-otp", json={"email": email, "otp": wrong}),
                401,
                "INVALID_OTP",
            )
    with client(server) as http:  # a new address: the refusal is not the rate limit
        _envelope(
            http.post("/api/auth/verify-otp", json={"email": email, "otp": code}),
            401,
            "INVALID_OTP",
        )


def test_two_verifies_racing_with_one_code_yield_one_token(server):
    email = unique_email("race")
    with client(server) as http:
        http.post("/api/auth/register", json={"email": email, "name": "Race"})
        code = code_from_log(server, email)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def verify() -> None:
        with client(server) as http:
            barrier.wait()
            r = http.post("/api/auth/verify-otp", json={"email": email, "otp": code})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=verify) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _me(server: ServeProcess, headers: dict[str, str]):
    """GET /api/auth/me from a new address (each address has 10 auth requests a minute)."""
    with client(server) as http:
        return http.get("/api/auth/me", headers=headers)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_bad_tokens_are_refused(server):
    with client(server) as http:
        token = sign_in(server, http)
    user = token["user"]
    now = int(time.time())
    claims = {"sub": user["id"], "email": user["email"], "iat": now, "exp": now + 3600}
    key = _jwt_key(server)
    head, _, signature = token["access_token"].split(".")
    cases = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong signature": jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256"),
        "tampered claims": f"{head}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}",
        "HS384 with our key": jwt.encode(claims, key, algorithm="HS384"),
        "no exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key),
        "garbage": "not.a.token",
    }
    for name, bad in cases.items():
        r = _me(server, bearer(bad))
        _envelope(r, 401, "AUTH_REQUIRED")
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), name
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic YTpi"}):
        _envelope(_me(server, header), 401, "AUTH_REQUIRED")

    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key)
    body = _envelope(_me(server, bearer(expired)), 401, "TOKEN_EXPIRED")
    assert "expired" in body["detail"]
    # The same claims, not expired, signed with the server's key: accepted.
    assert _me(server, bearer(jwt.encode(claims, key))).status_code == 200


def test_a_deleted_users_token_is_refused(server):
    with client(server) as http:
        token = sign_in(server, http)
        assert http.get("/api/auth/me", headers=bearer(token["access_token"])).status_code == 200
        accounts = SQLiteAccounts(server.data_dir / "accounts.db")
        try:
            assert accounts.delete_user(token["user"]["id"])
        finally:
            accounts.close()
        _envelope(
            http.get("/api/auth/me", headers=bearer(token["access_token"])), 401, "AUTH_REQUIRED"
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Eve\r\nBcc: victim@example.com"),
        ("name", "Eve\nSubject: hi"),
        ("name", "Eve\x00"),
        ("email", "eve@example.com\r\nBcc: victim@example.com"),
        ("email", "eve@example.com\nBcc:victim@example.com"),
        ("email", '"eve\r\nBcc: v@example.com"@example.com'),
    ],
)
def test_header_injection_is_refused_and_sends_nothing(server, field, value):
    body = {"email": unique_email("eve"), "name": "Eve", field: value}
    with client(server) as http:
        out = _envelope(http.post("/api/auth/register", json=body), 422, "VALIDATION_ERROR")
        assert out["field"] == field
    assert "victim@example.com" not in server.log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"email=a@example.com", "application/x-www-form-urlencoded"),
        (b"not json at all", "application/json"),
        (b"", "application/json"),
        (b'{"email": "a@example.com"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'["a@example.com"]', "application/json"),
        (b'"a@example.com"', "application/json"),
        (b"null", "application/json"),
    ],
)
def test_bodies_that_are_not_json_objects_get_the_envelope(server, data, content_type):
    with client(server) as http:
        for path in ("/api/auth/register", "/api/auth/login", "/api/auth/verify-otp"):
            r = http.post(path, content=data, headers={"Content-Type": content_type})
            assert r.status_code in (400, 422), r.text
            assert set(r.json()) >= ENVELOPE and r.json()["code"] == "VALIDATION_ERROR"


def test_unknown_fields_and_bad_codes_are_422(server):
    with client(server) as http:
        email = unique_email()
        r = http.post("/api/auth/login", json={"email": email, "admin": True})
        assert _envelope(r, 422, "VALIDATION_ERROR")["field"] == "admin"
        for otp in ("12345", "1234567", "abcdef", 123456, ""):
            r = http.post("/api/auth/verify-otp", json={"email": email, "otp": otp})
            assert _envelope(r, 422, "VALIDATION_ERROR")["field"] == "otp"
        r = http.post("/api/auth/register", json={"email": email})
        body = _envelope(r, 422, "VALIDATION_ERROR")
        assert body["field"] == "name" and body["detail"] == "Missing 'name' in request data"


def test_every_citrus_error_is_the_envelope(server):
    with client(server) as http:
        _envelope(http.get("/api/no/such/route"), 404, "NOT_FOUND")
        _envelope(http.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
        _envelope(http.get("/api/auth/register"), 405, "METHOD_NOT_ALLOWED")
        _envelope(http.delete("/api/auth/me"), 405, "METHOD_NOT_ALLOWED")
        _envelope(http.put("/health"), 405, "METHOD_NOT_ALLOWED")
        # Trailing slashes are optional.
        r = http.post("/api/auth/login/", json={"email": unique_email()})
        assert r.status_code == 200


def test_a_new_code_at_most_every_60_seconds(server):
    email = unique_email("slow")
    with client(server) as http:
        assert (
            http.post("/api/auth/register", json={"email": email, "name": "S"}).status_code == 201
        )
        first = code_from_log(server, email)
        r = http.post("/api/auth/login", json={"email": email})
        body = _envelope(r, 429, "RATE_LIMITED")
        assert 55 <= body["retry_after"] <= 60
        assert r.headers["Retry-After"] == str(body["retry_after"])
        assert codes_in_log(server, email) == [first]  # nothing new was sent
        # The code already sent still works.
        assert (
            http.post("/api/auth/verify-otp", json={"email": email, "otp": first}).status_code
            == 200
        )
