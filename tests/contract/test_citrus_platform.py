"""`/`, `/health`, `/api/info`, `/openapi.json`, `/docs` and `/redoc` of a running `assay serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from assay import bootstrap
from assay.config import Settings
from assay.web.app import handle
from assay.web.openapi import openapi_path
from assay.web.routes import ROUTES
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from tests.support.citrus import client

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
LITMUS_ERROR = {"$ref": "#/components/schemas/LitmusError"}


@pytest.fixture()
def http(server) -> Iterator[httpx.Client]:
    with client(server) as c:
        yield c


def test_root_lists_only_endpoints_that_exist(http):
    body = http.get("/").json()
    assert body["version"] == "2.4.0" and body["status"] == "operational"
    assert body["timestamp"].endswith("Z")
    paths = []
    for value in body["endpoints"].values():
        paths += list(value.values()) if isinstance(value, dict) else [value]
    assert "/api/auth/verify-otp" in paths and "/health" in paths
    for path in paths:
        assert http.get(path).status_code != 404, path


def test_health_checks_every_part(http):
    r = http.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "healthy"
    assert body["database"] == body["queue"] == body["log_store"] == "connected"
    assert body["email"] == "log" and body["log_backlog"] == 0
    assert body["version"] == "2.4.0" and body["uptime_seconds"] >= 0


def test_health_is_503_unhealthy_when_the_store_is_down(tmp_path: Path, monkeypatch):
    # Firestore at an address where nothing listens: the store cannot answer.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    bootstrap.reset(Settings(ASSAY_DATA_DIR=str(tmp_path)))
    try:
        app = Client(lambda env, start: handle(None, Request(env))(env, start), Response)
        r = app.get("/health")
        assert r.status_code == 503
        assert r.json["status"] == "unhealthy" and r.json["database"].startswith("error")
        assert r.json["log_store"] == "connected"
    finally:
        monkeypatch.delenv("FIRESTORE_EMULATOR_HOST")
        bootstrap.reset()


def test_info_reports_the_limits_in_force(tmp_path):
    env = {
        "ASSAY_MAX_MESSAGE_LENGTH": "1234",
        "ASSAY_MAX_CHAT_HISTORY": "7",
        "ASSAY_MAX_CONCURRENT_REQUESTS": "9",
        "ASSAY_REQUEST_TIMEOUT": "45",
    }
    from tests.support.server import serving

    with serving(tmp_path / "data", env) as proc, client(proc) as http:
        info = http.get("/api/info").json()
    assert info["limits"] == {
        "max_message_length": 1234,
        "max_chat_history": 7,
        "max_concurrent_requests": 9,
        "request_timeout_seconds": 45,
        "rate_limits_per_minute": {"Authentication": 10, "Chat/Evaluations": 60, "Analytics": 100},
    }
    assert info["capabilities"]["accounts"] is True
    assert "local:model-1" in info["supported_models"]


def test_openapi_describes_every_route_of_the_table(http):
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["basicAuth"]["scheme"] == "basic" and schemes["bearerAuth"]["scheme"] == "bearer"
    for route in ROUTES:
        path, params = openapi_path(route.rule)
        for method in route.methods:
            op = doc["paths"][path][method.lower()]
            assert [p["name"] for p in op["parameters"] if p["in"] == "path"] == [
                p["name"] for p in params
            ]
            security = {"basic": [{"basicAuth": []}], "bearer": [{"bearerAuth": []}], "none": []}
            assert op["security"] == security[route.auth], route.rule
            error = ENVELOPE if route.api == "citrus" else LITMUS_ERROR
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == error
            assert str(route.status) in op["responses"]
            if route.body:
                name = route.body.rpartition(":")[2]
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith(f"/{name}") and name in doc["components"]["schemas"]
    verify = doc["paths"]["/api/auth/verify-otp"]["post"]["responses"]
    assert verify["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TokenOut")
    assert set(verify["429"]["headers"]) >= {"Retry-After", "X-RateLimit-Reset"}
    assert "422" in verify and "429" not in doc["paths"]["/health"]["get"]["responses"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(http, page):
    r = http.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in r.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs, r.text
    for ref in refs:
        assert ref.startswith("/docs/assets/"), ref  # nothing from a CDN
        asset = http.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 100_000
        kind = "text/css" if ref.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].startswith(kind)
    assert http.get("/docs/assets/../secrets/jwt_signing_key").status_code == 404
    assert http.get("/docs/assets/nope.js").json()["code"] == "NOT_FOUND"
