"""The secrets port. Env vars first (Cloud Functions mounts Secret Manager secrets as env vars);
locally, a missing secret is generated once into a 0600 file in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from assay.errors import Unavailable


class LocalSecrets:
    def __init__(self, directory: Path, *, generate: bool) -> None:
        self.directory = Path(directory)
        self.generate = generate

    def path(self, name: str) -> Path:
        return self.directory / name

    def get(self, name: str, env: str | None = None, *, nbytes: int = 24) -> str:
        if env and os.environ.get(env):
            return os.environ[env]
        path = self.path(name)
        if path.exists():
            return path.read_text().strip()
        if not self.generate:
            raise Unavailable(f"secret '{name}' is not configured (set {env or name})")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = secrets.token_urlsafe(nbytes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
        return value
