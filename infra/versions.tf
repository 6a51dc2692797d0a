terraform {
  # 1.9: variable validations may refer to other variables (smtp_password needs smtp_host).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region

  default_labels = {
    app = "assay"
  }
}
