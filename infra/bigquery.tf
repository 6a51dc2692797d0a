# The log store: proxy_log (proxied LLM calls) and litmus_log (the worker's calls to systems under
# test). The tables are in generated.tf: one per LogTable, schema log_row.schema.json (LogRow),
# partitioned by day on `timestamp`, clustered by `litmus_context`.

resource "google_bigquery_dataset" "logs" {
  #checkov:skip=CKV_GCP_81:encrypted at rest with Google-managed keys; customer-managed keys (a Cloud KMS key, its rotation and service-agent grants) are an opt-in, see docs/deploy.md
  project                    = var.project
  dataset_id                 = local.names.dataset
  friendly_name              = "Assay logs"
  description                = "Proxied LLM calls and test-case calls (Assay)."
  location                   = var.bigquery_location != "" ? var.bigquery_location : var.region
  delete_contents_on_destroy = false

  depends_on = [google_project_service.apis]
}
