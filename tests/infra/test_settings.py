"""Env var names in infra are names the code reads; every credential the code reads comes from
Secret Manager; and `make deploy` and Terraform start from the same defaults."""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import get_args

import pytest
from assay.config import Settings
from assay.deploy.gcloud import DeployConfig
from assay.deploy.spec import NOT_DEPLOYED, PLATFORM_ENV, SECRETS

from tests.infra.terraform import REPO, Terraform, block, expr

PACKAGE = REPO / "shared" / "assay"


def settings_names() -> set[str]:
    names = set()
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        names |= {str(c) for c in getattr(alias, "choices", [alias]) if c}
    return {n.upper() for n in names}


def secret_reads() -> set[tuple[str, str]]:
    """(name, env) of every secret the code asks the secrets port for, found in the source:
    `.secret("jwt_signing_key", "ASSAY_JWT_SECRET")`, `.secrets.get("api_password", "...")`."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if "deploy" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            f = node.func
            port = f.attr == "secret" or (
                f.attr == "get" and isinstance(f.value, ast.Attribute) and f.value.attr == "secrets"
            )
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if port and len(args) == 2 and all(isinstance(a, str) for a in args):
                found.add((args[0], args[1]))
    return found


def deployed_env_names(tf: Terraform) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, fn in tf.of("google_cloudfunctions2_function").items():
        service = block(fn, "service_config")
        env = set(service["environment_variables"])
        env |= {s["key"] for s in service.get("secret_environment_variables", [])}
        for d in service.get("dynamic", []):
            for_each = expr(d["secret_environment_variables"]["for_each"])
            env |= set(for_each.split('"')[1::2]) - {""}
        out[name] = env
    return out


def test_the_secret_scan_finds_the_known_reads() -> None:
    assert ("api_password", "ASSAY_PASSWORD") in secret_reads()


def test_every_env_name_infra_sets_is_read_by_the_code(tf: Terraform) -> None:
    known = settings_names() | {env for _, env in secret_reads()} | set(PLATFORM_ENV)
    for function, names in deployed_env_names(tf).items():
        unknown = names - known
        assert not unknown, (
            f"{function} is deployed with {sorted(unknown)}, which nothing reads: add the setting "
            "to shared/assay/config.py or fix the name in shared/assay/deploy/spec.py"
        )


def test_every_secret_the_code_reads_is_in_secret_manager() -> None:
    provided = {(key.replace("-", "_"), s.env) for key, s in SECRETS.items()}
    for name, env in secret_reads():
        assert (name, env) in provided, (
            f"the code reads secret {name!r} (env {env}); add SECRETS[{name.replace('_', '-')!r}]"
            f" = Secret({env!r}, ...) to shared/assay/deploy/spec.py and run `make infra`"
        )


def _credential(field: str) -> bool:
    info = Settings.model_fields[field]
    textual = str in (info.annotation, *get_args(info.annotation))
    return textual and any(w in field for w in ("password", "secret", "key"))


@pytest.mark.parametrize("field", [f for f in Settings.model_fields if _credential(f)])
def test_every_credential_setting_is_deployed_as_a_secret(field: str) -> None:
    alias = Settings.model_fields[field].validation_alias
    names = {str(c).upper() for c in getattr(alias, "choices", [alias])}
    secret_envs = {s.env for s in SECRETS.values()}
    assert names & (secret_envs | set(NOT_DEPLOYED)), (
        f"Settings.{field} ({', '.join(sorted(names))}) looks like a credential: add it to "
        "SECRETS in shared/assay/deploy/spec.py, or say in NOT_DEPLOYED why production has none"
    )


def test_make_deploy_and_terraform_share_their_defaults(tf: Terraform) -> None:
    for f in dataclasses.fields(DeployConfig):
        if f.name not in tf.variables or f.name == "package_dir":
            continue
        default = tf.variables[f.name].get("default")
        if f.default is not dataclasses.MISSING:
            ours = f.default
        elif f.default_factory is not dataclasses.MISSING:
            ours = f.default_factory()
        else:
            continue  # required on the command line (project, region)
        assert ours == default, f"{f.name}: make deploy {ours!r}, terraform {default!r}"


def test_every_variable_used_is_declared_and_every_declared_one_used(tf: Terraform) -> None:
    used = set(re.findall(r"\bvar\.([a-z_0-9]+)", tf.all_text()))
    declared = set(tf.variables)
    assert used - declared == set(), "undeclared variables"
    assert declared - used == set(), "variables nothing uses"


def test_every_local_used_is_defined(tf: Terraform) -> None:
    used = set(re.findall(r"\blocal\.([a-z_0-9]+)", tf.all_text()))
    assert used - set(tf.locals) == set()


def test_every_resource_reference_resolves(tf: Terraform) -> None:
    kinds = "|".join(re.escape(k) for k in tf.resources)
    refs = set(re.findall(rf"\b({kinds})\.([a-z_0-9]+)\b", tf.all_text()))
    missing = {f"{k}.{n}" for k, n in refs if n not in tf.of(k)}
    assert not missing, f"references to undeclared resources: {sorted(missing)}"
