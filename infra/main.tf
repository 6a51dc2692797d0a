# Project-wide pieces: APIs, names, the source bucket and the build identity.

data "google_project" "this" {
  project_id = var.project
}

resource "google_project_service" "apis" {
  for_each = toset(local.apis)

  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

locals {
  prefix_     = replace(var.name_prefix, "-", "_")
  package_dir = var.package_dir != "" ? var.package_dir : "${path.module}/../dist/functions"
  domain      = var.domain != "" ? var.domain : "${google_compute_global_address.api.address}.nip.io"

  log_partition_expiration_ms = var.log_retention_days == 0 ? null : var.log_retention_days * 86400000

  # Pub/Sub's own service agent: it signs push tokens and moves messages to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Hops whose X-Forwarded-For the functions believe (config: ASSAY_TRUSTED_PROXIES).
  trusted_proxies = join(",", [
    "${google_compute_global_address.api.address}/32", # this load balancer
    "35.191.0.0/16",                                   # Google front ends
    "130.211.0.0/22",                                  # Google front ends
    "169.254.0.0/16",                                  # Cloud Run's own hop
  ])
}

# Function source bundles (`make package` zips), one object per bundle version.
resource "google_storage_bucket" "sources" {
  #checkov:skip=CKV_GCP_62:holds only build inputs (function source zips); Cloud Audit Logs record who reads or writes them
  project                     = var.project
  name                        = local.names.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
}

# Cloud Build identity that turns a bundle into a function image.
resource "google_service_account" "build" {
  project      = var.project
  account_id   = local.names.build_account
  display_name = "Assay function builds"
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",       # build logs
    "roles/artifactregistry.writer", # the function image
    "roles/storage.objectViewer",    # the staged source
  ])

  project = var.project
  role    = each.value
  member  = google_service_account.build.member
}
