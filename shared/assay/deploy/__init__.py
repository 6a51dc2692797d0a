"""Deployment: what each Cloud Function needs (`spec`), and the tools that turn that plus the
routing table into Terraform (`tfgen`), source bundles (`package`) and gcloud commands
(`gcloud`). Nothing here is imported by a function at run time."""
