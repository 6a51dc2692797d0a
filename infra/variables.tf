variable "project" {
  description = "Google Cloud project id to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the functions, the serverless NEGs and (by default) the data."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "Prefix of every resource name; service account ids must stay within 30 characters."
  type        = string
  default     = "assay"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name_prefix))
    error_message = "name_prefix: 2-15 characters, lowercase letters, digits and '-', starting with a letter."
  }
}

variable "domain" {
  description = "Domain name of the API (its A record must point at the `ip_address` output). Empty: <ip>.nip.io."
  type        = string
  default     = ""
}

variable "firestore_location" {
  description = "Firestore location (a region or a multi-region such as nam5). Empty: var.region."
  type        = string
  default     = ""
}

variable "bigquery_location" {
  description = "Location of the log dataset. Empty: var.region."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Days a day-partition of proxy_log / litmus_log is kept; 0 keeps them forever."
  type        = number
  default     = 0

  validation {
    condition     = var.log_retention_days >= 0
    error_message = "log_retention_days must be 0 (forever) or a number of days."
  }
}

variable "deletion_protection" {
  description = "Refuse to destroy the log tables (and their data)."
  type        = bool
  default     = true
}

variable "api_username" {
  description = "Litmus HTTP Basic user name; its password is generated into Secret Manager."
  type        = string
  default     = "admin"
}

variable "judge_model" {
  description = "provider:model of the LLM judge (local:, openai:, gemini:, vertex:)."
  type        = string
  default     = "vertex:gemini-2.5-flash"
}

variable "model_1" {
  description = "provider:model answering as model 1 in dual responses."
  type        = string
  default     = "vertex:gemini-2.5-flash"
}

variable "model_2" {
  description = "provider:model answering as model 2 in dual responses."
  type        = string
  default     = "vertex:gemini-2.5-flash-lite"
}

variable "smtp_host" {
  description = "SMTP server for Citrus one-time codes. Empty: no email is sent (sign-in cannot complete)."
  type        = string
  default     = ""
}

variable "smtp_port" {
  description = "SMTP port."
  type        = number
  default     = 587
}

variable "smtp_username" {
  description = "SMTP user name."
  type        = string
  default     = ""
}

variable "smtp_from" {
  description = "From address of the emails."
  type        = string
  default     = "Assay <no-reply@localhost>"
}

variable "smtp_password" {
  description = "SMTP password, stored in Secret Manager (required when smtp_host is set)."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.smtp_host == "" || var.smtp_password != ""
    error_message = "smtp_password is required when smtp_host is set."
  }
}

variable "proxy_upstreams" {
  description = "LLM proxies to deploy: name => upstream base URL (e.g. { openai = \"https://api.openai.com\" })."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for name, url in var.proxy_upstreams :
      can(regex("^[a-z][a-z0-9-]{0,19}$", name)) && name != "data" && can(regex("^https?://", url))
    ])
    error_message = "proxy_upstreams: names are 1-20 of [a-z0-9-] (not 'data'), values http(s) URLs."
  }
}

variable "proxy_invoker" {
  description = "IAM member allowed to call the proxies; allUsers lets clients send their own provider key."
  type        = string
  default     = "allUsers"
}

variable "package_dir" {
  description = "Where `make package` wrote <function>.zip. Empty: ../dist/functions beside this module."
  type        = string
  default     = ""
}
