"""The production path of a test run, on the real emulators: the `templates`, `runs` and `worker`
functions served by the real functions-framework CLI, Firestore for the store, a Pub/Sub topic
with a push subscription whose endpoint is the worker (so the worker receives the raw Pub/Sub
push envelope, as on Cloud Functions).

The emulator hosts select Firestore and Pub/Sub (as ASSAY_BACKEND=gcp does). ASSAY_BACKEND=gcp
itself is not set: it would also select BigQuery for the worker's call log, which has no
emulator; the log goes to the embedded DuckDB store instead, the one stand-in here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from assay.errors import Unavailable
from assay.models.litmus import CaseMessage

from tests.support.functions import FunctionProcess, serving
from tests.support.litmus import template, uid
from tests.support.server import TEST_PASSWORD, wait_run
from tests.support.sut import SUT

pytestmark = pytest.mark.emulator


@dataclass
class Deployment:
    project: str
    topic: str
    templates: FunctionProcess
    runs: FunctionProcess
    worker: FunctionProcess
    env: dict[str, str]


@pytest.fixture(scope="module")
def gcp(
    firestore_emulator, pubsub_emulator, sut: SUT, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    from google.cloud import pubsub_v1

    project, topic = f"e2e-{uuid.uuid4().hex[:8]}", "assay-test-cases"
    env = {
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "PUBSUB_EMULATOR_HOST": pubsub_emulator.host,
        "GOOGLE_CLOUD_PROJECT": project,
        "ASSAY_PUBSUB_TOPIC": topic,
        "ASSAY_PASSWORD": TEST_PASSWORD,
        "ASSAY_CASE_BACKOFF": "0.01",
        "ASSAY_CASE_TIMEOUT": "5",
    }
    data = tmp_path_factory.mktemp("functions")
    functions = [
        FunctionProcess("templates", "http", env, data),
        FunctionProcess("runs", "http", env, data),
        FunctionProcess("worker", "cloudevent", env, data),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    with serving(functions) as (templates_fn, runs_fn, worker_fn):
        topic_path = publisher.create_topic(name=publisher.topic_path(project, topic)).name
        subscription = subscriber.subscription_path(project, "assay-worker")
        subscriber.create_subscription(
            request={
                "name": subscription,
                "topic": topic_path,
                "push_config": {"push_endpoint": f"{worker_fn.url}/"},
                "ack_deadline_seconds": 60,
            }
        )
        try:
            yield Deployment(project, topic, templates_fn, runs_fn, worker_fn, env)
        finally:
            subscriber.delete_subscription(request={"subscription": subscription})
            publisher.stop()
            subscriber.close()


def _submit(gcp: Deployment, sut: SUT, n: int) -> str:
    """Add a template of `n` items and submit a run of it, over HTTP, as a client would."""
    body = template(
        sut.url, items=[{"query": f"question {i}", "response": f"question {i}"} for i in range(n)]
    )
    with gcp.templates.client() as api:
        assert api.post("/templates/add", json=body).status_code == 200
    run_id = uid("run")
    with gcp.runs.client() as api:
        submitted = api.post(
            "/runs/submit", json={"run_id": run_id, "template_id": body["template_id"]}
        )
        assert submitted.status_code == 200, submitted.text
    return run_id


def test_a_run_completes_through_pubsub_push_to_the_worker(gcp: Deployment, sut: SUT) -> None:
    run_id = _submit(gcp, sut, 20)
    with gcp.runs.client() as api:
        status = wait_run(api, run_id, timeout=120)
        listed = api.get("/runs").json()["runs"]
    assert status["status"] == "Completed", gcp.worker.tail()
    assert status["progress"] == "20/20"
    assert status["summary"] == {
        "total": 20,
        "done": 20,
        "passed": 20,
        "failed": 0,
        "errors": 0,
        "completed": 0,
    }
    assert status["end_time"] and status["end_time"] >= status["start_time"]
    cases = status["testCases"]
    assert [c["id"] for c in cases] == [f"test_case_{i}" for i in range(1, 21)]
    assert all(c["status"] == "Passed" for c in cases)
    first = cases[0]["response"]
    assert first["status_code"] == 200 and isinstance(first["latency_ms"], int | float)
    assert first["response"]["answer"] == "question 0"
    assert first["assessment"]["llm_assessment"]["similarity"] == 1.0
    assert run_id in [r["run_id"] for r in listed]
    # Each case reached the system under test with its own tracing id.
    seen = {r["headers"].get("X-Litmus-Request") for r in sut.calls("/answer")}
    assert {c["tracing_id"] for c in cases} <= seen


def test_a_message_published_twice_counts_once(
    gcp: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hard duplicate: the copy arrives while the original is still executing (the system
    under test takes a second), so both deliveries run the case and both try to record it."""
    from google.cloud import pubsub_v1

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", gcp.env["PUBSUB_EMULATOR_HOST"])
    publisher = pubsub_v1.PublisherClient()
    with SUT(delay_s=1.0) as slow:
        run_id = _submit(gcp, slow, 1)
        duplicate = CaseMessage(run_id=run_id, case_id="test_case_1", generation=1)
        topic = publisher.topic_path(gcp.project, gcp.topic)
        publisher.publish(topic, duplicate.model_dump_json().encode()).result(30)
        publisher.stop()
        with gcp.runs.client() as api:
            wait_run(api, run_id, timeout=60)
            tracing = [c["headers"].get("X-Litmus-Request") for c in slow.calls("/answer")]
            assert len(tracing) == 2 and tracing[0] == tracing[1], "both deliveries executed"
            time.sleep(1.0)  # the second delivery records ~ms after the first: let it land
            status = api.get(f"/runs/status/{run_id}").json()
    assert status["status"] == "Completed" and status["progress"] == "1/1"
    assert status["summary"]["done"] == 1 and status["summary"]["passed"] == 1
    assert status["testCases"][0]["tracing_id"] == tracing[0]


# -- PubSubQueue against the emulator -----------------------------------------------------------
@pytest.fixture()
def pubsub(pubsub_emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    from google.cloud import pubsub_v1

    project = f"q-{uuid.uuid4().hex[:8]}"
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    yield publisher, subscriber, project
    publisher.stop()
    subscriber.close()


def test_pubsub_queue_publishes_every_payload_in_batches(pubsub) -> None:
    from assay.adapters.pubsub_queue import PubSubQueue

    publisher, subscriber, project = pubsub
    topic = publisher.create_topic(name=publisher.topic_path(project, "cases")).name
    subscription = subscriber.create_subscription(
        request={"name": subscriber.subscription_path(project, "pull"), "topic": topic}
    ).name
    queue = PubSubQueue(project, "cases")
    queue.ping()
    payloads = [f'{{"n": {i}}}'.encode() for i in range(1500)]  # more than one batch of 1000
    queue.publish(payloads, {"kind": "case"})
    received: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(received) < len(payloads) and time.monotonic() < deadline:
        response = subscriber.pull(request={"subscription": subscription, "max_messages": 1000})
        received += [m.message.data for m in response.received_messages]
        assert all(m.message.attributes["kind"] == "case" for m in response.received_messages)
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": subscription,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
    assert sorted(received) == sorted(payloads)
    assert queue.depth() == -1  # backlog lives in Cloud Monitoring, not in the Pub/Sub API
    queue.close()


def test_pubsub_queue_unavailable_when_the_topic_is_missing(pubsub) -> None:
    from assay.adapters.pubsub_queue import PubSubQueue

    _, _, project = pubsub
    queue = PubSubQueue(project, "no-such-topic", timeout_s=10)
    with pytest.raises(Unavailable, match="no-such-topic"):
        queue.publish([b"x"])
    with pytest.raises(Unavailable):
        queue.ping()
    queue.close()
