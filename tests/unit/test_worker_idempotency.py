"""The worker counts each case once, whatever the queue does: duplicates, races, stale
generations, dead letters. Runs the real worker function app (functions-framework) in-process
with raw Pub/Sub push envelopes and binary CloudEvents."""

import base64
import json
import threading

import pytest
from assay import bootstrap
from assay.config import Settings
from assay.models.litmus import CaseMessage, InvokeRun, SubmitRun, TemplateIn
from assay.services import runs, templates

from tests.support.litmus import template, uid


class ListQueue:
    """An in-memory stand-in of the queue port that only records what was published."""

    def __init__(self):
        self.published: list[bytes] = []

    def publish(self, payloads, attributes=None):
        self.published.extend(payloads)

    def depth(self):
        return len(self.published)

    def ping(self):
        pass


@pytest.fixture()
def world(tmp_path, sut):
    c = bootstrap.reset(Settings(data_dir=tmp_path / "data", case_backoff_s=0.0))
    import functions_framework

    app = functions_framework.create_app("worker", "functions/worker/main.py", "cloudevent")
    yield c, app.test_client()
    bootstrap.reset()


def push(client, payload: bytes, attributes=None):
    envelope = {
        "message": {
            "data": base64.b64encode(payload).decode(),
            "attributes": attributes or {},
            "messageId": uid("m"),
            "publishTime": "2026-01-01T00:00:00Z",
        },
        "subscription": "projects/p/subscriptions/s",
    }
    return client.post("/", data=json.dumps(envelope), content_type="application/json")


def make_run(c, sut, n):
    queue = ListQueue()
    body = template(sut.url, items=[{"query": f"q{i}", "response": f"q{i}"} for i in range(n)])
    templates.add_template(c.store, TemplateIn.model_validate(body))
    run_id = uid("run")
    runs.submit_run(c.store, queue, SubmitRun(run_id=run_id, template_id=body["template_id"]))
    return run_id, body, queue


def test_duplicate_and_racing_deliveries_count_once(world, sut):
    c, client = world
    run_id, _, queue = make_run(c, sut, 6)
    messages = queue.published * 3  # every message delivered three times
    threads = [threading.Thread(target=push, args=(client, m)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run = c.store.get_run(run_id)
    assert (run.status, run.done, run.passed) == ("Completed", 6, 6)
    assert run.progress == "6/6"


def test_stale_generation_after_invoke_is_ignored(world, sut):
    c, client = world
    run_id, body, queue = make_run(c, sut, 2)
    old = list(queue.published)
    runs.invoke_run(c.store, queue, InvokeRun(run_id=run_id, template_id=body["template_id"]))
    for m in old:
        assert push(client, m).status_code == 200
    assert c.store.get_run(run_id).done == 0
    for m in queue.published[len(old) :]:
        push(client, m)
    run = c.store.get_run(run_id)
    assert run.generation == 2 and run.progress == "2/2" and run.status == "Completed"


def test_dead_letter_marks_the_case_error_so_the_run_finishes(world, sut):
    c, client = world
    run_id, _, queue = make_run(c, sut, 2)
    push(client, queue.published[0])
    push(
        client,
        queue.published[1],
        {
            "CloudPubSubDeadLetterSourceSubscription": "s",
            "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        },
    )
    run = c.store.get_run(run_id)
    assert (run.status, run.done, run.errors) == ("Completed", 2, 1)
    case = c.store.get_case(run_id, "test_case_2")
    assert case.result["status"] == "Error" and "5 deliveries" in case.result["error"]


def test_binary_cloudevent_and_poison_messages(world, sut):
    c, client = world
    run_id, _, queue = make_run(c, sut, 1)
    envelope = {
        "message": {"data": base64.b64encode(queue.published[0]).decode(), "messageId": "1"}
    }
    headers = {
        "ce-id": "1",
        "ce-specversion": "1.0",
        "ce-source": "//pubsub",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
    }
    r = client.post(
        "/", data=json.dumps(envelope), headers=headers, content_type="application/json"
    )
    assert r.status_code == 200
    assert c.store.get_run(run_id).done == 1
    # Undecodable messages are acknowledged (retrying cannot help) and change nothing.
    assert push(client, b"not json").status_code == 200
    assert (
        push(
            client, CaseMessage(run_id="nope", case_id="x", generation=1).model_dump_json().encode()
        ).status_code
        == 200
    )


def test_store_outage_makes_delivery_fail_for_redelivery(world, sut, monkeypatch):
    c, client = world
    run_id, _, queue = make_run(c, sut, 1)
    from assay.errors import Unavailable

    def down(*a, **k):
        raise Unavailable("store down")

    monkeypatch.setattr(c.store, "record_result", down)
    assert push(client, queue.published[0]).status_code >= 500
    monkeypatch.undo()
    assert push(client, queue.published[0]).status_code == 200
    assert c.store.get_run(run_id).done == 1
