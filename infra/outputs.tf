output "url" {
  description = "The one HTTPS URL of both APIs (the certificate is active once DNS points at ip_address)."
  value       = "https://${local.domain}"
}

output "ip_address" {
  description = "The load balancer's address: the A record of var.domain."
  value       = google_compute_global_address.api.address
}

output "test_case_topic" {
  description = "Pub/Sub topic of test cases."
  value       = google_pubsub_topic.test_cases.name
}

output "log_dataset" {
  description = "BigQuery dataset of proxy_log and litmus_log."
  value       = google_bigquery_dataset.logs.dataset_id
}

output "api_password_secret" {
  description = "Read the Litmus password with: gcloud secrets versions access latest --secret=<this>."
  value       = google_secret_manager_secret.api_password.secret_id
}
