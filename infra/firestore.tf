# The store: templates, runs and their cases, users, one-time codes, rate-limit counters.
# Composite indexes are in generated.tf (spec.FIRESTORE_INDEXES).

resource "google_firestore_database" "main" {
  project                           = var.project
  name                              = "(default)"
  location_id                       = var.firestore_location != "" ? var.firestore_location : var.region
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.apis]
}
