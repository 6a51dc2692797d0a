"""Secrets from Google Secret Manager (production). Same interface as LocalSecrets.get:
an environment variable wins (Cloud Functions can mount a secret as one); otherwise the latest
version of secret `assay-<name>` (underscores as dashes) is read once per process."""

from __future__ import annotations

import os
import threading
from typing import Any

from assay.errors import Unavailable


def secret_id(name: str) -> str:
    return "assay-" + name.replace("_", "-")


class SecretManagerSecrets:
    def __init__(self, project: str, client: Any = None) -> None:
        self.project = project
        self._client = client
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def _secret_client(self) -> Any:
        if self._client is None:
            from google.cloud import secretmanager

            self._client = secretmanager.SecretManagerServiceClient()
        return self._client

    def get(self, name: str, env: str | None = None, *, nbytes: int = 24) -> str:
        """`nbytes` is for LocalSecrets' generation; production secrets are never generated."""
        if env and os.environ.get(env):
            return os.environ[env]
        with self._lock:
            if name not in self._cache:
                path = f"projects/{self.project}/secrets/{secret_id(name)}/versions/latest"
                try:
                    response = self._secret_client().access_secret_version(name=path)
                except Exception as exc:
                    raise Unavailable(
                        f"secret '{secret_id(name)}' could not be read from Secret Manager "
                        f"({type(exc).__name__}); set {env or name} or create the secret"
                    ) from None
                self._cache[name] = response.payload.data.decode().strip()
            return self._cache[name]
