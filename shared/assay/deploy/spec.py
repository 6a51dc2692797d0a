"""What each Cloud Function needs to run in production: size, limits, IAM roles, secrets and
environment. The routing table says which functions exist; this module says how each is deployed.
Terraform (`tfgen`) and the gcloud script (`gcloud`) are both rendered from it, so they agree.

Adding a function to the routing table without a profile here fails `make infra` (and the infra
tests) with a message naming the function. Adding a setting the deployment must provide is one
line in `COMMON_ENV`, a profile's `env`, or `SECRETS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assay.web.routes import EVENT_FUNCTIONS, PROXY_FUNCTIONS, functions

REPO = Path(__file__).resolve().parents[3]
FUNCTIONS_DIR = REPO / "functions"
RUNTIME = "python311"
# The Google APIs a deployment needs: enabled by Terraform (local.apis) and by `make deploy`.
APIS = (
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "compute.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
)

# A proxy function is deployed once per configured upstream (`var.proxy_upstreams`), each copy
# named `<prefix>-proxy-<upstream>` and labelled `assay-proxy=<upstream>` (spec: list_services).
PROXY_LABEL = "assay-proxy"

Kind = Literal["http", "event", "proxy"]
Scope = Literal["project", "topic", "dataset"]


@dataclass(frozen=True)
class Ref:
    """A value known only at deploy time: the Terraform expression for it, and the field of
    `gcloud.DeployConfig` that holds it for `make deploy`."""

    terraform: str
    config: str


Value = str | Ref


@dataclass(frozen=True)
class Grant:
    """One IAM role for a function's service account, on the narrowest resource that works."""

    role: str
    scope: Scope
    why: str


@dataclass(frozen=True)
class Secret:
    """A Secret Manager secret, mounted as the env var `env` in the functions that list it.

    `generated`: a random `secrets.token_urlsafe(nbytes)`-shaped value made at first deploy.
    `variable`: the operator supplies it (Terraform variable / `make deploy` option of that
    name); it is created and mounted only when the variable named by `enabled_by` is set."""

    env: str
    description: str
    source: Literal["generated", "variable"] = "generated"
    nbytes: int = 32
    enabled_by: str | None = None


@dataclass(frozen=True)
class Profile:
    memory: str = "512Mi"
    cpu: str = "1"
    timeout_s: int = 60
    max_instances: int = 10
    concurrency: int = 80
    grants: tuple[Grant, ...] = ()
    secrets: tuple[str, ...] = ()
    env: dict[str, Value] = field(default_factory=dict)


# Resource names, one place for Terraform (as locals) and gcloud. `{prefix}` is the name prefix,
# `{prefix_}` the same with `_` for `-` (BigQuery dataset ids allow no hyphen).
NAMES: dict[str, str] = {
    "topic": "{prefix}-test-cases",
    "dead_letter_topic": "{prefix}-test-cases-dead-letter",
    "worker_subscription": "{prefix}-test-cases-worker",
    "dead_letter_subscription": "{prefix}-test-cases-dead-letter-worker",
    "dataset": "{prefix_}_logs",
    "source_bucket": "{project}-{prefix}-sources",
    "push_account": "{prefix}-pubsub-push",
    "build_account": "{prefix}-build",
}


def _ref(name: str) -> Ref:
    return Ref(f"local.names.{name}", name)


def _var(name: str) -> Ref:
    return Ref(f"var.{name}", name)


# Set on every function.
COMMON_ENV: dict[str, Value] = {
    "ASSAY_BACKEND": "gcp",
    "ASSAY_ENV": "production",
    "GOOGLE_CLOUD_PROJECT": _var("project"),
    "GOOGLE_CLOUD_REGION": _var("region"),
    "ASSAY_FIRESTORE_DATABASE": Ref("google_firestore_database.main.name", "firestore_database"),
    "ASSAY_PUBSUB_TOPIC": _ref("topic"),
    "ASSAY_BIGQUERY_DATASET": _ref("dataset"),
    "ASSAY_USERNAME": _var("api_username"),
    "ASSAY_JUDGE_MODEL": _var("judge_model"),
    "ASSAY_MODEL_1": _var("model_1"),
    "ASSAY_MODEL_2": _var("model_2"),
}

# Keyed by the name the code asks the secrets port for, with `-` for `_`: the secret id is
# `<prefix>-<key>` (adapters/secret_manager.py reads `assay-<key>`), mounted as env `env`.
# Set on the functions behind the load balancer.
LB_ENV: dict[str, Value] = {
    # Rate limits count per client address: believe X-Forwarded-For only across our own load
    # balancer, Google's front ends and Cloud Run's link-local hop.
    "ASSAY_TRUSTED_PROXIES": Ref("local.trusted_proxies", "trusted_proxies"),
}

SECRETS: dict[str, Secret] = {
    "api-password": Secret("ASSAY_PASSWORD", "Litmus HTTP Basic password", nbytes=24),
    "jwt-signing-key": Secret("ASSAY_JWT_SECRET", "Citrus JWT HS256 signing key"),
    "encryption-key": Secret("ASSAY_ENCRYPTION_KEY", "AES-256-GCM key for PII in traces"),
    "smtp-password": Secret(
        "ASSAY_SMTP_PASSWORD",
        "SMTP password for OTP emails",
        source="variable",
        enabled_by="smtp_host",
    ),
}

# Env names read by the platform or functions-framework rather than by Settings.
PLATFORM_ENV: dict[str, str] = {
    "FUNCTION_USE_ASGI": "functions-framework serves the target as an ASGI app (--asgi)",
}

# Settings that look like credentials but that production deliberately does not provide.
NOT_DEPLOYED: dict[str, str] = {
    "OPENAI_API_KEY": "production models default to vertex: (service-account auth, no key); "
    "to use openai:, add a variable-sourced entry to SECRETS",
    "GOOGLE_API_KEY": "vertex: authenticates with the service account; a Gemini API key is "
    "only for gemini: models (add a variable-sourced entry to SECRETS)",
}

_FIRESTORE_RW = Grant("roles/datastore.user", "project", "reads and writes its documents")
_VERTEX = Grant("roles/aiplatform.user", "project", "calls vertex: models (judge, dual responses)")
_LOGS_WRITE = Grant("roles/bigquery.dataEditor", "dataset", "inserts log rows")
_LOGS_READ = Grant("roles/bigquery.dataViewer", "dataset", "reads log rows")
_QUERY = Grant("roles/bigquery.jobUser", "project", "runs query jobs (billed to the project)")

_SMTP_ENV: dict[str, Value] = {
    "ASSAY_SMTP_HOST": _var("smtp_host"),
    "ASSAY_SMTP_PORT": _var("smtp_port"),
    "ASSAY_SMTP_USERNAME": _var("smtp_username"),
    "ASSAY_SMTP_FROM": _var("smtp_from"),
}

PROFILES: dict[str, Profile] = {
    "templates": Profile(grants=(_FIRESTORE_RW,), secrets=("api-password",)),
    "runs": Profile(
        timeout_s=300,
        grants=(
            _FIRESTORE_RW,
            Grant("roles/pubsub.publisher", "topic", "publishes one message per test case"),
        ),
        secrets=("api-password",),
    ),
    "worker": Profile(
        memory="1Gi",
        timeout_s=540,
        max_instances=50,
        concurrency=32,
        grants=(_FIRESTORE_RW, _LOGS_WRITE, _VERTEX),
    ),
    "platform": Profile(
        grants=(
            _FIRESTORE_RW,  # rate-limit counters live in the store
            Grant("roles/pubsub.viewer", "topic", "/health checks the topic exists"),
            Grant("roles/bigquery.metadataViewer", "dataset", "/health checks the dataset"),
        ),
        secrets=("api-password",),
    ),
    "proxy_data": Profile(
        grants=(
            _LOGS_READ,
            _QUERY,
            Grant("roles/run.viewer", "project", "/proxy/list_services lists proxy services"),
        ),
        secrets=("api-password",),
    ),
    "proxy": Profile(
        timeout_s=3600,
        max_instances=20,
        concurrency=250,
        grants=(_LOGS_WRITE,),
        env={"FUNCTION_USE_ASGI": "true"},  # functions_framework.aio
    ),
    "auth": Profile(
        grants=(_FIRESTORE_RW,),
        secrets=("jwt-signing-key", "smtp-password"),
        env=_SMTP_ENV,
    ),
    "evaluations": Profile(
        timeout_s=600,
        grants=(_FIRESTORE_RW, _VERTEX),
        secrets=("jwt-signing-key", "encryption-key"),
    ),
    "traces": Profile(
        timeout_s=300,
        grants=(_FIRESTORE_RW, _VERTEX, _LOGS_READ, _QUERY),
        secrets=("jwt-signing-key", "encryption-key"),
    ),
}


@dataclass(frozen=True)
class Index:
    """A Firestore composite index one of the store's queries needs (single-field ordering,
    such as a run's cases by `index` or runs by `start_time`, is indexed automatically)."""

    collection: str
    fields: tuple[tuple[str, Literal["ASCENDING", "DESCENDING"]], ...]
    why: str
    scope: Literal["COLLECTION", "COLLECTION_GROUP"] = "COLLECTION"


FIRESTORE_INDEXES: tuple[Index, ...] = (
    Index(
        "test_runs",
        (("template_id", "ASCENDING"), ("start_time", "DESCENDING")),
        "a template's runs, newest first (list_runs(template_id)); the store sorts them in "
        "memory today, this lets Firestore order them once runs outgrow that",
    ),
)


@dataclass(frozen=True)
class Function:
    name: str  # directory under functions/, Terraform resource name
    target: str  # entry point: the function's name in main.py
    kind: Kind
    profile: Profile

    @property
    def resource_name(self) -> str:
        """`<prefix>-<name>` with `-` for `_` (Cloud Run service names allow no `_`)."""
        return self.name.replace("_", "-")

    @property
    def env(self) -> dict[str, Value]:
        extra = LB_ENV if self.kind == "http" else {}
        return {**COMMON_ENV, **extra, **self.profile.env}


class MissingProfile(LookupError):
    pass


def _profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise MissingProfile(
            f"function '{name}' has no deployment profile: add PROFILES['{name}'] to "
            "shared/assay/deploy/spec.py (memory, timeout, IAM grants, secrets), then run "
            "`make infra`"
        ) from None


def deployed_functions() -> list[Function]:
    """Every function to deploy: the routing table's HTTP functions in table order, then the
    event functions, then the proxies."""
    out = [Function(name, name, "http", _profile(name)) for name in functions()]
    out += [Function(n, t, "event", _profile(n)) for n, t in EVENT_FUNCTIONS.items()]
    out += [Function(n, t, "proxy", _profile(n)) for n, t in PROXY_FUNCTIONS.items()]
    return out


def secrets_of(fn: Function) -> list[tuple[str, Secret]]:
    return [(name, SECRETS[name]) for name in fn.profile.secrets]
