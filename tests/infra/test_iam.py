"""Least privilege, read from the HCL: each function's identity holds exactly the roles its
profile states, each on the narrowest resource, and nobody gets a primitive role."""

from __future__ import annotations

import re

import pytest
from assay.deploy.spec import deployed_functions

from tests.infra.terraform import Terraform, block, expr

IAM_MEMBERS = {
    "google_project_iam_member": ("project", None),
    "google_pubsub_topic_iam_member": ("topic", "topic"),
    "google_bigquery_dataset_iam_member": ("dataset", "dataset_id"),
    "google_secret_manager_secret_iam_member": ("secret", "secret_id"),
}
SCOPE_OF = {
    "google_pubsub_topic.test_cases.id": "topic",
    "google_bigquery_dataset.logs.dataset_id": "dataset",
}


def _grants_of(tf: Terraform, member: str) -> set[tuple[str, str]]:
    found = set()
    for kind, (scope, attr) in IAM_MEMBERS.items():
        for body in tf.of(kind).values():
            if expr(body["member"]) != member:
                continue
            where = scope
            if attr and scope != "secret":
                where = SCOPE_OF[expr(body[attr])]
            elif scope == "secret":
                where = "secret:" + expr(body[attr]).split(".")[1]
            found.add((body["role"], where))
    return found


@pytest.mark.parametrize("fn", deployed_functions(), ids=lambda f: f.name)
def test_function_identity_holds_exactly_its_profile_roles(tf: Terraform, fn) -> None:
    expected = {(g.role, g.scope) for g in fn.profile.grants}
    expected |= {
        ("roles/secretmanager.secretAccessor", f"secret:{name.replace('-', '_')}")
        for name in fn.profile.secrets
    }
    assert _grants_of(tf, f"google_service_account.{fn.name}.member") == expected


def test_no_primitive_or_admin_roles(tf: Terraform) -> None:
    roles = set(re.findall(r'"(roles/[^"]+)"', tf.all_text()))
    assert "roles/datastore.user" in roles  # the scan sees the roles
    for role in roles:
        assert role not in {"roles/owner", "roles/editor", "roles/viewer"}, role
        assert not role.endswith(".admin"), role


def test_secrets_reach_functions_only_as_secret_env_vars(tf: Terraform) -> None:
    secret_envs = set()
    for fn in tf.of("google_cloudfunctions2_function").values():
        service = block(fn, "service_config")
        secret_envs |= {s["key"] for s in service.get("secret_environment_variables", [])}
        for d in service.get("dynamic", []):
            secret_envs |= {expr(d["secret_environment_variables"]["for_each"])}
    for name, fn in tf.of("google_cloudfunctions2_function").items():
        plain = block(fn, "service_config")["environment_variables"]
        leaked = {k for k in plain if k in secret_envs or "PASSWORD" in k or "SECRET" in k}
        assert not leaked, f"{name} sets {leaked} in plain env"


def test_generated_secret_values_never_appear_in_code(tf: Terraform) -> None:
    for label, body in tf.of("google_secret_manager_secret_version").items():
        data = expr(body["secret_data"])
        assert data.startswith(("trim(replace(replace(random_bytes.", "var.")), label
