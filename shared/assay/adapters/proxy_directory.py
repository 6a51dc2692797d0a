"""Where the LLM proxies are: the Cloud Run services labelled `assay-proxy` (each deployed proxy
is a Cloud Function, i.e. a Cloud Run service), or the ones `assay serve` started."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from assay.models.proxy import ProxyService
from assay.timeutil import iso, now_iso

PROXY_LABEL = "assay-proxy"


class ProxyDirectory(ABC):
    @abstractmethod
    def list(self) -> list[ProxyService]: ...


class LocalProxies(ProxyDirectory):
    """Filled by `assay serve` as it starts each proxy."""

    def __init__(self) -> None:
        self._services: list[ProxyService] = []
        self._lock = threading.Lock()

    def add(self, name: str, uri: str) -> ProxyService:
        stamp = now_iso()
        service = ProxyService(
            name=f"{PROXY_LABEL}-{name}",
            project_id="local",
            region="local",
            uri=uri,
            created=stamp,
            updated=stamp,
        )
        with self._lock:
            self._services.append(service)
        return service

    def list(self) -> list[ProxyService]:
        with self._lock:
            return list(self._services)


def _stamp(value: Any) -> str:
    return iso(value) if isinstance(value, datetime) else str(value or "")


class CloudRunProxies(ProxyDirectory):
    def __init__(self, project: str, region: str, *, client: Any = None) -> None:
        self.project = project
        self.region = region
        self._client = client

    def list(self) -> list[ProxyService]:
        client = self._client
        if client is None:
            from google.cloud import run_v2

            client = self._client = run_v2.ServicesClient()
        parent = f"projects/{self.project}/locations/{self.region}"
        return [
            ProxyService(
                name=service.name.rsplit("/", 1)[-1],
                project_id=self.project,
                region=self.region,
                uri=service.uri,
                created=_stamp(service.create_time),
                updated=_stamp(service.update_time),
            )
            for service in client.list_services(parent=parent)
            if PROXY_LABEL in (service.labels or {})
        ]
