# One HTTPS address for both APIs: a global external Application Load Balancer whose URL map
# (generated.tf) sends each path of the routing table to its function's serverless NEG.

resource "google_compute_global_address" "api" {
  project = var.project
  name    = "${var.name_prefix}-api"

  depends_on = [google_project_service.apis]
}

resource "google_compute_managed_ssl_certificate" "api" {
  project = var.project
  # A new name per domain, so a domain change can create the new certificate first.
  name = "${var.name_prefix}-api-${substr(sha256(local.domain), 0, 8)}"

  managed {
    domains = [local.domain]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "api" {
  project         = var.project
  name            = "${var.name_prefix}-api"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "api" {
  project          = var.project
  name             = "${var.name_prefix}-api"
  url_map          = google_compute_url_map.api.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
  ssl_policy       = google_compute_ssl_policy.api.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project
  name                  = "${var.name_prefix}-api-https"
  target                = google_compute_target_https_proxy.api.id
  ip_address            = google_compute_global_address.api.id
  port_range            = "443"
  ip_protocol           = "TCP"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Plain HTTP only redirects to HTTPS.
resource "google_compute_url_map" "http_redirect" {
  project = var.project
  name    = "${var.name_prefix}-api-http-redirect"

  default_url_redirect {
    https_redirect         = true
    strip_query            = false
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project
  name    = "${var.name_prefix}-api-http"
  url_map = google_compute_url_map.http_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project
  name                  = "${var.name_prefix}-api-http"
  target                = google_compute_target_http_proxy.redirect.id
  ip_address            = google_compute_global_address.api.id
  port_range            = "80"
  ip_protocol           = "TCP"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# Cloud Armor in front of every backend: known-exploit signatures are refused at the edge;
# per-user rate limits stay in the functions (they know the user).
resource "google_compute_security_policy" "api" {
  project     = var.project
  name        = "${var.name_prefix}-api"
  description = "Assay API edge policy"
  type        = "CLOUD_ARMOR"

  rule {
    action      = "deny(403)"
    priority    = 1000
    description = "Log4Shell and other CVE probes"
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Everything else"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
