"""The Secret Manager adapter with a stand-in for the client (its one call, as the API shapes
it): names, the environment override, one read per process, failures that name the fix."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from assay.adapters.secret_manager import SecretManagerSecrets
from assay.errors import Unavailable


class Client:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[str] = []

    def access_secret_version(self, name: str) -> SimpleNamespace:
        self.calls.append(name)
        if name not in self.values:
            raise PermissionError("403 Permission denied on secret")
        data = self.values[name].encode()
        return SimpleNamespace(payload=SimpleNamespace(data=data))


def test_reads_the_latest_version_once(monkeypatch):
    monkeypatch.delenv("ASSAY_JWT_SECRET", raising=False)
    path = "projects/prod-1/secrets/assay-jwt-signing-key/versions/latest"
    client = Client({path: "k" * 48 + "\n"})
    secrets = SecretManagerSecrets("prod-1", client)
    assert secrets.get("jwt_signing_key", "ASSAY_JWT_SECRET") == "k" * 48
    assert secrets.get("jwt_signing_key", "ASSAY_JWT_SECRET") == "k" * 48
    assert client.calls == [path]


def test_an_environment_variable_wins(monkeypatch):
    monkeypatch.setenv("ASSAY_JWT_SECRET", "from-env")
    client = Client({})
    assert (
        SecretManagerSecrets("p", client).get("jwt_signing_key", "ASSAY_JWT_SECRET") == "from-env"
    )
    assert client.calls == []


def test_a_missing_secret_is_unavailable_and_says_what_to_do(monkeypatch):
    monkeypatch.delenv("ASSAY_JWT_SECRET", raising=False)
    with pytest.raises(Unavailable) as failed:
        SecretManagerSecrets("p", Client({})).get("jwt_signing_key", "ASSAY_JWT_SECRET")
    assert "assay-jwt-signing-key" in failed.value.message
    assert "ASSAY_JWT_SECRET" in failed.value.message
