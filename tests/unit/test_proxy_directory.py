"""Deployed proxies are found through the Cloud Run admin API by their `assay-proxy` label."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assay.adapters.proxy_directory import CloudRunProxies
from google.cloud import run_v2
from google.protobuf.timestamp_pb2 import Timestamp


def service(name: str, labels: dict[str, str]) -> run_v2.Service:
    created = Timestamp()
    created.FromDatetime(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    return run_v2.Service(
        name=f"projects/p/locations/europe-west4/services/{name}",
        uri=f"https://{name}-xyz.a.run.app",
        labels=labels,
        create_time=created,
        update_time=created,
    )


class StandInServices:
    def __init__(self) -> None:
        self.parents: list[str] = []

    def list_services(self, parent: str) -> list[Any]:
        self.parents.append(parent)
        return [
            service("proxy-openai", {"assay-proxy": "openai"}),
            service("runs", {"goog-managed-by": "cloudfunctions"}),
            service("proxy-gemini", {"assay-proxy": "gemini", "team": "x"}),
        ]


def test_only_labelled_services_are_listed_in_the_litmus_shape() -> None:
    client = StandInServices()
    found = CloudRunProxies("p", "europe-west4", client=client).list()
    assert client.parents == ["projects/p/locations/europe-west4"]
    assert [s.model_dump() for s in found] == [
        {
            "name": name,
            "project_id": "p",
            "region": "europe-west4",
            "uri": f"https://{name}-xyz.a.run.app",
            "created": "2026-03-01T09:30:00.000Z",
            "updated": "2026-03-01T09:30:00.000Z",
        }
        for name in ("proxy-openai", "proxy-gemini")
    ]
