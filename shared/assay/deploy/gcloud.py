"""`make deploy PROJECT=P REGION=R`: the same deployment as infra/, with gcloud and bq.

Every step is idempotent (created only when missing, bindings and deploys re-applied), so it can
be run again after a change. `--dry-run` prints the whole plan as a shell script and runs nothing.
Terraform (infra/) is the reference; this is for a laptop or a project without Terraform state.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from assay.deploy import bigquery, urlmap
from assay.deploy.package import DIST
from assay.deploy.spec import (
    APIS,
    FIRESTORE_INDEXES,
    NAMES,
    PROXY_LABEL,
    REPO,
    RUNTIME,
    SECRETS,
    Function,
    Grant,
    Ref,
    Value,
    deployed_functions,
    secrets_of,
)
from assay.deploy.steps import Stdin as _Stdin
from assay.deploy.steps import Step, StepFailed, document, execute, generated_secret, script, step
from assay.deploy.tfgen import INGRESS, SCHEMA_JSON

BUILD_ROLES = (
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
)
_INGRESS_FLAG = {
    "ALLOW_INTERNAL_AND_GCLB": "internal-and-gclb",
    "ALLOW_INTERNAL_ONLY": "internal-only",
    "ALLOW_ALL": "all",
}
_PUBSUB_AGENT = "serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
SMTP_PASSWORD_ENV = "ASSAY_DEPLOY_SMTP_PASSWORD"


@dataclass
class DeployConfig:
    """The deployment's inputs; the defaults are infra/variables.tf's (a test keeps them equal)."""

    project: str
    region: str
    name_prefix: str = "assay"
    domain: str = ""
    firestore_location: str = ""
    bigquery_location: str = ""
    api_username: str = "admin"
    judge_model: str = "vertex:gemini-2.5-flash"
    model_1: str = "vertex:gemini-2.5-flash"
    model_2: str = "vertex:gemini-2.5-flash-lite"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_from: str = "Assay <no-reply@localhost>"
    proxy_upstreams: dict[str, str] = field(default_factory=dict)
    proxy_invoker: str = "allUsers"
    package_dir: Path = DIST

    def name(self, key: str) -> str:
        return NAMES[key].format(
            prefix=self.name_prefix,
            prefix_=self.name_prefix.replace("-", "_"),
            project=self.project,
        )

    def value(self, ref: Ref) -> str:
        derived = {
            "firestore_database": "(default)",
            "trusted_proxies": "${IP_ADDRESS}/32,35.191.0.0/16,130.211.0.0/22,169.254.0.0/16",
        }
        if ref.config in derived:
            return derived[ref.config]
        if ref.config in NAMES:
            return self.name(ref.config)
        return str(getattr(self, ref.config))

    def account(self, account_id: str) -> str:
        return f"{account_id}@{self.project}.iam.gserviceaccount.com"


class Plan:
    def __init__(self, cfg: DeployConfig) -> None:
        self.cfg = cfg
        self.steps: list[Step] = []
        self.p = f"--project={cfg.project}"

    def add(self, *args: str, **kwargs: object) -> None:
        self.steps.append(step(*args, **kwargs))

    def created(self, describe: list[str], create: list[str], **kwargs: object) -> None:
        self.steps.append(step(*create, unless=tuple(describe), **kwargs))

    # -- pieces -------------------------------------------------------------------------

    def service_account(self, account_id: str, display: str) -> str:
        email = self.cfg.account(account_id)
        self.created(
            ["gcloud", "iam", "service-accounts", "describe", email, self.p],
            ["gcloud", "iam", "service-accounts", "create", account_id,
             f"--display-name={display}", self.p],
        )  # fmt: skip
        return email

    def project_role(self, member: str, role: str) -> None:
        self.add(
            "gcloud", "projects", "add-iam-policy-binding", self.cfg.project,
            f"--member={member}", f"--role={role}", "--condition=None", "--quiet",
        )  # fmt: skip

    def grant(self, email: str, grant: Grant) -> None:
        member = f"serviceAccount:{email}"
        if grant.scope == "project":
            self.project_role(member, grant.role)
        elif grant.scope == "topic":
            self.add(
                "gcloud", "pubsub", "topics", "add-iam-policy-binding", self.cfg.name("topic"),
                f"--member={member}", f"--role={grant.role}", self.p,
            )  # fmt: skip
        else:
            self.add(
                "bq", "add-iam-policy-binding", f"--member={member}", f"--role={grant.role}",
                f"{self.cfg.project}:{self.cfg.name('dataset')}",
            )  # fmt: skip

    def env_flag(self, fn: Function, extra: str = "") -> str:
        env: dict[str, Value] = dict(fn.env)
        values = [f"{k}={self.cfg.value(v) if isinstance(v, Ref) else v}" for k, v in env.items()]
        if extra:
            values.append(extra)
        # `^X^` makes X the separator (values may hold commas): one no value contains.
        sep = next(c for c in "|~#;!" if not any(c in v for v in values))
        return f"--set-env-vars=^{sep}^" + sep.join(values)

    def secrets_flag(self, fn: Function) -> list[str]:
        mounted = [
            f"{s.env}={self.cfg.name_prefix}-{name}:latest"
            for name, s in secrets_of(fn)
            if s.enabled_by is None or getattr(self.cfg, s.enabled_by)
        ]
        return [f"--set-secrets={','.join(mounted)}"] if mounted else []

    def function(self, fn: Function, email: str, suffix: str = "", upstream: str = "") -> str:
        cfg = self.cfg
        name = f"{cfg.name_prefix}-{fn.resource_name}{suffix}"
        p = fn.profile
        labels = f"app=assay,assay-function={fn.resource_name}"
        env_flag = self.env_flag(fn, f"ASSAY_PROXY_UPSTREAM={upstream}" if upstream else "")
        if fn.kind == "proxy":
            labels += f",{PROXY_LABEL}={suffix.lstrip('-')}"
        self.add(
            "gcloud", "functions", "deploy", name, "--gen2", f"--region={cfg.region}",
            f"--runtime={RUNTIME}", f"--source={_shown(cfg.package_dir / fn.name)}",
            f"--entry-point={fn.target}", "--trigger-http", "--no-allow-unauthenticated",
            f"--memory={p.memory}", f"--cpu={p.cpu}", f"--timeout={p.timeout_s}s",
            "--min-instances=0", f"--max-instances={p.max_instances}",
            f"--concurrency={p.concurrency}",
            f"--ingress-settings={_INGRESS_FLAG[INGRESS[fn.kind]]}",
            f"--service-account={email}",
            f"--build-service-account=projects/{cfg.project}/serviceAccounts/"
            f"{cfg.account(cfg.name('build_account'))}",
            f"--update-labels={labels}", env_flag, *self.secrets_flag(fn), self.p,
            why=f"function {fn.name}",
        )  # fmt: skip
        invoker = {
            "http": "allUsers",
            "proxy": cfg.proxy_invoker,
            "event": f"serviceAccount:{cfg.account(cfg.name('push_account'))}",
        }[fn.kind]
        self.add(
            "gcloud", "run", "services", "add-iam-policy-binding", name,
            f"--region={cfg.region}", f"--member={invoker}", "--role=roles/run.invoker", self.p,
        )  # fmt: skip
        return name

    def subscription(self, key: str, topic: str, dead_letter: bool) -> None:
        extra = (
            [f"--dead-letter-topic={self.cfg.name('dead_letter_topic')}",
             f"--max-delivery-attempts={_settings_default('queue_max_deliveries')}"]
            if dead_letter else []
        )  # fmt: skip
        name = self.cfg.name(key)
        self.created(
            ["gcloud", "pubsub", "subscriptions", "describe", name, self.p],
            ["gcloud", "pubsub", "subscriptions", "create", name, f"--topic={topic}",
             "--push-endpoint=${WORKER_URL}",
             f"--push-auth-service-account={self.cfg.account(self.cfg.name('push_account'))}",
             f"--ack-deadline={_settings_default('queue_ack_deadline_s')}",
             "--min-retry-delay=10s", "--max-retry-delay=600s", "--expiration-period=never",
             "--message-retention-duration=7d", *extra, self.p],
        )  # fmt: skip

    def url_map_yaml(self) -> str:
        cfg = self.cfg
        base = (
            f"https://www.googleapis.com/compute/v1/projects/{cfg.project}/global/backendServices"
        )
        default = f"{base}/{cfg.name_prefix}-platform"
        lines = [
            f"name: {cfg.name_prefix}-api",
            f"defaultService: {default}",
            "hostRules:",
            "- hosts: ['*']",
            "  pathMatcher: api",
            "pathMatchers:",
            "- name: api",
            f"  defaultService: {default}",
            "  pathRules:",
        ]
        for fn, paths in urlmap.by_function(urlmap.path_rules()).items():
            lines.append(f"  - service: {base}/{cfg.name_prefix}-{fn.replace('_', '-')}")
            lines.append("    paths:")
            lines += [f"    - '{path}'" for path in paths]
        return "\n".join(lines) + "\n"

    # -- the whole deployment -------------------------------------------------------------

    def build(self) -> list[Step]:
        cfg, p = self.cfg, self.p
        functions = deployed_functions()
        self.add("gcloud", "services", "enable", *APIS, p, why="APIs")
        self.add(
            "gcloud", "projects", "describe", cfg.project, "--format=value(projectNumber)",
            capture="PROJECT_NUMBER",
        )  # fmt: skip

        address = f"{cfg.name_prefix}-api"
        self.created(
            ["gcloud", "compute", "addresses", "describe", address, "--global", p],
            ["gcloud", "compute", "addresses", "create", address, "--global", p],
            why="the load balancer's address (functions trust it in X-Forwarded-For)",
        )
        self.add(
            "gcloud", "compute", "addresses", "describe", address, "--global",
            "--format=value(address)", p, capture="IP_ADDRESS",
        )  # fmt: skip

        build = self.service_account(cfg.name("build_account"), "Assay function builds")
        for role in BUILD_ROLES:
            self.project_role(f"serviceAccount:{build}", role)
        push = self.service_account(cfg.name("push_account"), "Assay Pub/Sub push to the worker")
        self.add(
            "gcloud", "iam", "service-accounts", "add-iam-policy-binding", push,
            f"--member={_PUBSUB_AGENT}", "--role=roles/iam.serviceAccountTokenCreator", p,
        )  # fmt: skip

        for key, retention in (("topic", "1d"), ("dead_letter_topic", "7d")):
            self.created(
                ["gcloud", "pubsub", "topics", "describe", cfg.name(key), p],
                ["gcloud", "pubsub", "topics", "create", cfg.name(key),
                 f"--message-retention-duration={retention}", p],
            )  # fmt: skip
        self.add(
            "gcloud", "pubsub", "topics", "add-iam-policy-binding", cfg.name("dead_letter_topic"),
            f"--member={_PUBSUB_AGENT}", "--role=roles/pubsub.publisher", p,
        )  # fmt: skip

        self.created(
            ["gcloud", "firestore", "databases", "describe", "--database=(default)", p],
            ["gcloud", "firestore", "databases", "create", "--database=(default)",
             f"--location={cfg.firestore_location or cfg.region}", "--type=firestore-native",
             "--enable-pitr", "--delete-protection", p],
            why="Firestore and its composite indexes",
        )  # fmt: skip
        for index in FIRESTORE_INDEXES:
            self.add(
                "gcloud", "firestore", "indexes", "composite", "create",
                f"--collection-group={index.collection}", f"--query-scope={index.scope}",
                *[f"--field-config=field-path={f},order={o.lower()}" for f, o in index.fields],
                "--database=(default)", p, exists_ok="already exists",
            )  # fmt: skip

        dataset = f"{cfg.project}:{cfg.name('dataset')}"
        self.created(
            ["bq", f"--project_id={cfg.project}", "show", dataset],
            ["bq", f"--location={cfg.bigquery_location or cfg.region}",
             f"--project_id={cfg.project}", "mk", "--dataset", dataset],
            why="BigQuery log tables",
        )  # fmt: skip
        for table in bigquery.tables():
            self.created(
                ["bq", f"--project_id={cfg.project}", "show", f"{dataset}.{table.name}"],
                ["bq", f"--project_id={cfg.project}", "mk", "--table",
                 f"--time_partitioning_type={table.partition_type}",
                 f"--time_partitioning_field={table.partition_field}",
                 f"--clustering_fields={','.join(table.clustering)}",
                 f"{dataset}.{table.name}", str(SCHEMA_JSON.relative_to(REPO))],
            )  # fmt: skip

        for name, secret in SECRETS.items():
            secret_id = f"{cfg.name_prefix}-{name}"
            stdin: _Stdin
            if secret.source == "generated":
                stdin = generated_secret(secret.nbytes)
            elif secret.enabled_by and getattr(cfg, secret.enabled_by):
                value = os.environ.get(SMTP_PASSWORD_ENV, "")
                stdin = _Stdin(f'printf %s "${SMTP_PASSWORD_ENV}"', lambda v=value: v)  # type: ignore[misc]
            else:
                continue
            self.created(
                ["gcloud", "secrets", "describe", secret_id, p],
                ["gcloud", "secrets", "create", secret_id, "--replication-policy=automatic",
                 "--data-file=-", p],
                stdin=stdin, why=secret.description,
            )  # fmt: skip

        self.created(
            ["gcloud", "compute", "security-policies", "describe", address, p],
            ["gcloud", "compute", "security-policies", "create", address,
             "--type=CLOUD_ARMOR", p],
            why="the load balancer",
        )  # fmt: skip
        self.add(
            "gcloud", "compute", "security-policies", "rules", "create", "1000",
            f"--security-policy={address}",
            "--expression=evaluatePreconfiguredWaf('cve-canary')",
            "--action=deny-403", p, exists_ok="already exists",
        )  # fmt: skip

        for fn in functions:
            email = self.service_account(
                f"{cfg.name_prefix}-{fn.resource_name}", f"Assay function {fn.name}"
            )
            for grant in fn.profile.grants:
                self.grant(email, grant)
            for name, _ in secrets_of(fn):
                self.add(
                    "gcloud", "secrets", "add-iam-policy-binding", f"{cfg.name_prefix}-{name}",
                    f"--member=serviceAccount:{email}",
                    "--role=roles/secretmanager.secretAccessor", p,
                )  # fmt: skip
            if fn.kind == "proxy":
                for upstream, url in cfg.proxy_upstreams.items():
                    self.function(fn, email, f"-{upstream}", url)
                continue
            service = self.function(fn, email)
            if fn.kind == "event":
                self.add(
                    "gcloud", "functions", "describe", service, "--gen2",
                    f"--region={cfg.region}", "--format=value(serviceConfig.uri)", p,
                    capture="WORKER_URL",
                )  # fmt: skip
                self.subscription("worker_subscription", cfg.name("topic"), dead_letter=True)
                self.subscription(
                    "dead_letter_subscription", cfg.name("dead_letter_topic"), dead_letter=False
                )
                self.add(
                    "gcloud", "pubsub", "subscriptions", "add-iam-policy-binding",
                    cfg.name("worker_subscription"), f"--member={_PUBSUB_AGENT}",
                    "--role=roles/pubsub.subscriber", p,
                )  # fmt: skip
            if fn.kind == "http":
                self.created(
                    ["gcloud", "compute", "network-endpoint-groups", "describe", service,
                     f"--region={cfg.region}", p],
                    ["gcloud", "compute", "network-endpoint-groups", "create", service,
                     f"--region={cfg.region}", "--network-endpoint-type=serverless",
                     f"--cloud-run-service={service}", p],
                )  # fmt: skip
                self.created(
                    ["gcloud", "compute", "backend-services", "describe", service, "--global", p],
                    ["gcloud", "compute", "backend-services", "create", service, "--global",
                     "--load-balancing-scheme=EXTERNAL_MANAGED", "--protocol=HTTPS",
                     "--enable-logging", "--logging-sample-rate=1",
                     f"--security-policy={address}", p],
                )  # fmt: skip
                self.add(
                    "gcloud", "compute", "backend-services", "add-backend", service, "--global",
                    f"--network-endpoint-group={service}",
                    f"--network-endpoint-group-region={cfg.region}", p,
                    exists_ok="already exists",
                )  # fmt: skip

        self.add(
            "gcloud", "compute", "url-maps", "import", address, "--global", "--quiet", p,
            stdin=document(self.url_map_yaml()),
            why="URL map: every path of the routing table to its function",
        )  # fmt: skip
        domain = cfg.domain or "${IP_ADDRESS}.nip.io"
        cert = f"{address}-cert"
        self.created(
            ["gcloud", "compute", "ssl-certificates", "describe", cert, "--global", p],
            ["gcloud", "compute", "ssl-certificates", "create", cert, f"--domains={domain}",
             "--global", p],
        )  # fmt: skip
        self.created(
            ["gcloud", "compute", "ssl-policies", "describe", address, "--global", p],
            ["gcloud", "compute", "ssl-policies", "create", address, "--profile=MODERN",
             "--min-tls-version=1.2", "--global", p],
        )  # fmt: skip
        self.created(
            ["gcloud", "compute", "target-https-proxies", "describe", address, "--global", p],
            ["gcloud", "compute", "target-https-proxies", "create", address,
             f"--url-map={address}", f"--ssl-certificates={cert}", f"--ssl-policy={address}",
             "--global", p],
        )  # fmt: skip
        self.created(
            ["gcloud", "compute", "forwarding-rules", "describe", f"{address}-https", "--global",
             p],
            ["gcloud", "compute", "forwarding-rules", "create", f"{address}-https", "--global",
             "--load-balancing-scheme=EXTERNAL_MANAGED", f"--address={address}",
             f"--target-https-proxy={address}", "--ports=443", p],
        )  # fmt: skip
        redirect = f"{address}-http-redirect"
        self.add(
            "gcloud", "compute", "url-maps", "import", redirect, "--global", "--quiet", p,
            stdin=document(
                f"name: {redirect}\ndefaultUrlRedirect:\n  httpsRedirect: true\n"
                "  redirectResponseCode: MOVED_PERMANENTLY_DEFAULT\n"
            ),
            why="plain HTTP redirects to HTTPS",
        )  # fmt: skip
        self.created(
            ["gcloud", "compute", "target-http-proxies", "describe", f"{address}-http",
             "--global", p],
            ["gcloud", "compute", "target-http-proxies", "create", f"{address}-http",
             f"--url-map={redirect}", "--global", p],
        )  # fmt: skip
        self.created(
            ["gcloud", "compute", "forwarding-rules", "describe", f"{address}-http", "--global",
             p],
            ["gcloud", "compute", "forwarding-rules", "create", f"{address}-http", "--global",
             "--load-balancing-scheme=EXTERNAL_MANAGED", f"--address={address}",
             f"--target-http-proxy={address}-http", "--ports=80", p],
        )  # fmt: skip
        return self.steps


def _shown(path: Path) -> str:
    """A path as the user would type it from the repository root."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _settings_default(name: str) -> int:
    from assay.config import Settings

    return int(Settings.model_fields[name].default)


def plan(cfg: DeployConfig) -> list[Step]:
    return Plan(cfg).build()


def _upstream(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected name=https://host, got {text!r}")
    return name, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.deploy.gcloud", description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--dry-run", action="store_true", help="print every command, run none")
    parser.add_argument("--prefix", default=DeployConfig.name_prefix, dest="name_prefix")
    parser.add_argument("--domain", default="")
    parser.add_argument("--judge-model", default=DeployConfig.judge_model)
    parser.add_argument("--smtp-host", default="")
    parser.add_argument("--smtp-username", default="")
    parser.add_argument(
        "--proxy", action="append", type=_upstream, default=[], metavar="NAME=URL",
        help="deploy an LLM proxy for this upstream (repeatable)",
    )  # fmt: skip
    parser.add_argument("--package-dir", type=Path, default=DIST)
    args = parser.parse_args(argv)
    if not args.project or not args.region:
        parser.error("PROJECT and REGION are required: make deploy PROJECT=p REGION=r")
    if args.smtp_host and not os.environ.get(SMTP_PASSWORD_ENV) and not args.dry_run:
        parser.error(f"--smtp-host needs the SMTP password in ${SMTP_PASSWORD_ENV}")
    cfg = DeployConfig(
        project=args.project,
        region=args.region,
        name_prefix=args.name_prefix,
        domain=args.domain,
        judge_model=args.judge_model,
        smtp_host=args.smtp_host,
        smtp_username=args.smtp_username,
        proxy_upstreams=dict(args.proxy),
        package_dir=args.package_dir,
    )
    missing = [f.name for f in deployed_functions() if not (cfg.package_dir / f.name).is_dir()]
    if missing and not args.dry_run:
        parser.error(f"no bundle for {', '.join(missing)} in {cfg.package_dir}: run make package")
    steps = plan(cfg)
    if args.dry_run:
        sys.stdout.write(script(steps))
        return 0
    try:
        execute(steps)
    except StepFailed as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    print(f"deployed: https://{cfg.domain or '<address>.nip.io'} (certificate: a few minutes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
