"""The data side of the deployment: BigQuery log tables match LogRow; Pub/Sub retries, dead
letters and pushes both to the worker; Firestore has the indexes the store's queries need."""

from __future__ import annotations

import json
import types
from typing import Any, Union, get_args, get_origin

import pytest
from assay.adapters.duckdb_logstore import column_type
from assay.config import Settings
from assay.deploy.spec import FIRESTORE_INDEXES
from assay.models.litmus import Run, Template
from assay.models.logs import LogRow, LogTable

from tests.infra.terraform import INFRA, Terraform, block, expr

# What each Python annotation may become in BigQuery (timestamp: an ISO string, a TIMESTAMP).
ALLOWED = {str: {"STRING", "TIMESTAMP"}, int: {"INT64"}, float: {"FLOAT64"}, bool: {"BOOL"}}
DUCKDB_TO_BIGQUERY = {
    "VARCHAR": "STRING",
    "TIMESTAMPTZ": "TIMESTAMP",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
    "JSON": "JSON",
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else Any), len(args) < len(get_args(annotation))
    return annotation, annotation is Any


def _schema(tf: Terraform, table: str) -> list[dict[str, str]]:
    body = tf.of("google_bigquery_table")[table]
    assert expr(body["schema"]) == 'file("${path.module}/log_row.schema.json")'
    return json.loads((INFRA / "log_row.schema.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("table", get_args(LogTable))
def test_log_table_is_partitioned_by_day_and_clustered_by_context(tf: Terraform, table) -> None:
    body = tf.of("google_bigquery_table")[table]
    assert body["table_id"] == table
    partitioning = block(body, "time_partitioning")
    assert (partitioning["type"], partitioning["field"]) == ("DAY", "timestamp")
    assert body["clustering"] == ["litmus_context"]
    assert expr(body["dataset_id"]) == "google_bigquery_dataset.logs.dataset_id"


@pytest.mark.parametrize("table", get_args(LogTable))
def test_log_table_schema_matches_logrow(tf: Terraform, table) -> None:
    schema = _schema(tf, table)
    assert [c["name"] for c in schema] == list(LogRow.model_fields)
    for column in schema:
        info = LogRow.model_fields[column["name"]]
        inner, nullable = _unwrap(info.annotation)
        allowed = ALLOWED.get(inner, {"JSON"})
        assert column["type"] in allowed, column
        if column["mode"] == "REQUIRED":
            assert info.is_required() and not nullable, column
    # The embedded log store (DuckDB) types the same columns the same way.
    for column in schema:
        assert DUCKDB_TO_BIGQUERY[column_type(column["name"])] == column["type"], column


def test_test_cases_retry_then_dead_letter(tf: Terraform) -> None:
    subscription = tf.of("google_pubsub_subscription")["worker"]
    assert expr(subscription["topic"]) == "google_pubsub_topic.test_cases.id"
    dead = block(subscription, "dead_letter_policy")
    assert expr(dead["dead_letter_topic"]) == "google_pubsub_topic.dead_letter.id"
    assert (
        tf.locals["queue_max_deliveries"] == Settings.model_fields["queue_max_deliveries"].default
    )
    assert 5 <= tf.locals["queue_max_deliveries"] <= 100  # Pub/Sub's allowed range
    retry = block(subscription, "retry_policy")
    assert retry["minimum_backoff"] and retry["maximum_backoff"]


def test_worker_finishes_before_pubsub_redelivers(tf: Terraform) -> None:
    timeout = block(tf.of("google_cloudfunctions2_function")["worker"], "service_config")[
        "timeout_seconds"
    ]
    assert timeout < tf.locals["queue_ack_deadline_s"] <= 600


@pytest.mark.parametrize("name", ["worker", "dead_letter"])
def test_test_cases_and_their_dead_letters_are_pushed_to_the_worker(tf: Terraform, name) -> None:
    push = block(tf.of("google_pubsub_subscription")[name], "push_config")
    assert expr(push["push_endpoint"]) == (
        "google_cloudfunctions2_function.worker.service_config[0].uri"
    )
    token = block(push, "oidc_token")
    assert expr(token["service_account_email"]) == "google_service_account.pubsub_push.email"


def test_pubsub_may_move_messages_to_the_dead_letter_topic(tf: Terraform) -> None:
    publisher = tf.of("google_pubsub_topic_iam_member")["dead_letter_publisher"]
    assert expr(publisher["topic"]).startswith("google_pubsub_topic.dead_letter.")
    assert (publisher["role"], expr(publisher["member"])) == (
        "roles/pubsub.publisher",
        "local.pubsub_agent",
    )
    subscriber = tf.of("google_pubsub_subscription_iam_member")["worker_dead_letter_subscriber"]
    assert expr(subscriber["subscription"]).startswith("google_pubsub_subscription.worker.")
    assert subscriber["role"] == "roles/pubsub.subscriber"
    assert "gcp-sa-pubsub.iam.gserviceaccount.com" in tf.locals["pubsub_agent"]


def test_firestore_has_the_composite_indexes_of_the_store_queries(tf: Terraform) -> None:
    declared = {
        (
            body["collection"],
            tuple((f["field_path"], f["order"]) for f in body["fields"]),
        )
        for body in tf.of("google_firestore_index").values()
    }
    assert declared == {(i.collection, i.fields) for i in FIRESTORE_INDEXES}
    # Every indexed field is a field of the document the store keeps in that collection.
    stored = {"test_runs": Run, "test_templates": Template}
    for collection, fields in declared:
        for name, _ in fields:
            assert name in stored[collection].model_fields, f"{collection}.{name}"
