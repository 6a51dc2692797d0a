# Test cases: one message per case, pushed to the worker; retried with backoff; after
# local.queue_max_deliveries attempts moved to the dead-letter topic, which is pushed to the
# worker too: it sees the CloudPubSubDeadLetterSourceSubscription attribute and marks the case
# Error, so every run finishes.

resource "google_pubsub_topic" "test_cases" {
  #checkov:skip=CKV_GCP_83:encrypted at rest with Google-managed keys; messages are test-case ids and requests, kept at most 7 days; customer-managed keys are an opt-in, see docs/deploy.md
  project                    = var.project
  name                       = local.names.topic
  message_retention_duration = "86400s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:encrypted at rest with Google-managed keys; messages are test-case ids and requests, kept at most 7 days; customer-managed keys are an opt-in, see docs/deploy.md
  project                    = var.project
  name                       = local.names.dead_letter_topic
  message_retention_duration = "604800s"

  depends_on = [google_project_service.apis]
}

# The identity Pub/Sub signs its pushes with (an OIDC token the worker's Cloud Run checks).
resource "google_service_account" "pubsub_push" {
  project      = var.project
  account_id   = local.names.push_account
  display_name = "Assay Pub/Sub push to the worker"
}

resource "google_service_account_iam_member" "pubsub_push_token" {
  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_subscription" "worker" {
  project                    = var.project
  name                       = local.names.worker_subscription
  topic                      = google_pubsub_topic.test_cases.id
  ack_deadline_seconds       = local.queue_ack_deadline_s
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = google_cloudfunctions2_function.worker.service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.pubsub_push.email
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.queue_max_deliveries
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.worker_invoker,
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_service_account_iam_member.pubsub_push_token,
  ]
}

resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project
  name                       = local.names.dead_letter_subscription
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = local.queue_ack_deadline_s
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = google_cloudfunctions2_function.worker.service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.pubsub_push.email
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.worker_invoker,
    google_service_account_iam_member.pubsub_push_token,
  ]
}

# Pub/Sub may move undeliverable messages to the dead-letter topic...
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

# ...and acknowledge them on the subscription they came from.
resource "google_pubsub_subscription_iam_member" "worker_dead_letter_subscriber" {
  project      = var.project
  subscription = google_pubsub_subscription.worker.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
