"""Every function of the code has its Cloud Function, and every route reaches it through the
load balancer: read from the HCL, checked against the routing table (not against the generator).
"""

from __future__ import annotations

import re

import pytest
from assay.web.routes import EVENT_FUNCTIONS, PROXY_FUNCTIONS, ROUTES, functions

from tests.infra.terraform import REPO, Terraform, block, blocks, expr

TARGETS = {
    **{name: name for name in functions()},
    **EVENT_FUNCTIONS,
    **PROXY_FUNCTIONS,
}


def test_every_function_directory_is_in_the_routing_table() -> None:
    directories = {p.parent.name for p in (REPO / "functions").glob("*/main.py")}
    assert directories == set(TARGETS), "functions/ and shared/assay/web/routes.py disagree"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_function_is_deployed_from_its_bundle_with_its_entry_point(tf: Terraform, name) -> None:
    fn = tf.of("google_cloudfunctions2_function").get(name)
    assert fn is not None, f"no google_cloudfunctions2_function.{name}: run `make infra`"
    build = block(fn, "build_config")
    assert build["runtime"] == "python311"
    assert build["entry_point"] == TARGETS[name]
    source = block(block(build, "source"), "storage_source")
    assert expr(source["object"]) == f"google_storage_bucket_object.{name}.name"
    bundle = tf.of("google_storage_bucket_object")[name]
    assert bundle["source"].endswith(f"/{name}.zip")
    # The main.py that bundle is built from defines the entry point.
    main = (REPO / "functions" / name / "main.py").read_text()
    assert re.search(rf"^(def )?{TARGETS[name]}\b", main, re.M), f"{name}/main.py"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_function_runs_as_its_own_service_account(tf: Terraform, name) -> None:
    service = block(tf.of("google_cloudfunctions2_function")[name], "service_config")
    assert expr(service["service_account_email"]) == f"google_service_account.{name}.email"
    assert name in tf.of("google_service_account")


def _ingress(tf: Terraform, name: str) -> str:
    return str(
        block(tf.of("google_cloudfunctions2_function")[name], "service_config")["ingress_settings"]
    )


def _invoker(tf: Terraform, name: str) -> str:
    binding = tf.of("google_cloud_run_v2_service_iam_member")[f"{name}_invoker"]
    assert binding["role"] == "roles/run.invoker"
    return expr(binding["member"])


@pytest.mark.parametrize("name", functions())
def test_http_functions_are_reached_only_through_the_load_balancer(tf: Terraform, name) -> None:
    assert _ingress(tf, name) == "ALLOW_INTERNAL_AND_GCLB"
    assert _invoker(tf, name) == "allUsers"  # the function authenticates each call itself
    neg = tf.of("google_compute_region_network_endpoint_group")[name]
    assert (
        expr(block(neg, "cloud_run")["service"]) == f"google_cloudfunctions2_function.{name}.name"
    )
    backend = tf.of("google_compute_backend_service")[name]
    assert expr(block(backend, "backend")["group"]).startswith(
        f"google_compute_region_network_endpoint_group.{name}."
    )


@pytest.mark.parametrize("name", sorted(EVENT_FUNCTIONS))
def test_event_functions_accept_only_pubsub_pushes(tf: Terraform, name) -> None:
    assert _ingress(tf, name) == "ALLOW_INTERNAL_ONLY"
    assert _invoker(tf, name) == "google_service_account.pubsub_push.member"
    assert name not in tf.of("google_compute_backend_service")


@pytest.mark.parametrize("name", sorted(PROXY_FUNCTIONS))
def test_one_labelled_proxy_per_configured_upstream(tf: Terraform, name) -> None:
    fn = tf.of("google_cloudfunctions2_function")[name]
    assert expr(fn["for_each"]) == "var.proxy_upstreams"
    assert expr(fn["labels"]["assay-proxy"]) == "each.key"
    env = block(fn, "service_config")["environment_variables"]
    assert expr(env["ASSAY_PROXY_UPSTREAM"]) == "each.value"


# -- the URL map, simulated the way the load balancer matches paths ---------------------------


def _path_rules(tf: Terraform) -> tuple[list[tuple[str, str]], str]:
    url_map = tf.of("google_compute_url_map")["api"]
    matcher = block(url_map, "path_matcher")
    assert block(url_map, "host_rule")["path_matcher"] == matcher["name"]
    rules = [
        (path, expr(rule["service"]))
        for rule in blocks(matcher, "path_rule")
        for path in rule["paths"]
    ]
    return rules, expr(matcher["default_service"])


def _match(rules: list[tuple[str, str]], default: str, path: str) -> str:
    """URL-map semantics: an exact path, or a `prefix/*`; the longest match wins."""
    best: tuple[int, str] | None = None
    for pattern, service in rules:
        hit = path.startswith(pattern[:-1]) if pattern.endswith("/*") else path == pattern
        if hit and (best is None or len(pattern) > best[0]):
            best = (len(pattern), service)
    return best[1] if best else default


def _samples(rule: str) -> list[str]:
    path = re.sub(r"<[^>]+>", "sample-1", rule)
    return [path] if path == "/" else [path, path + "/"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{'|'.join(r.methods)} {r.rule}")
def test_every_route_reaches_its_function_through_the_url_map(tf: Terraform, route) -> None:
    rules, default = _path_rules(tf)
    backend = f"google_compute_backend_service.{route.function}.id"
    for path in _samples(route.rule):
        assert _match(rules, default, path) == backend, f"{path} does not reach {route.function}"


def test_unknown_paths_reach_the_function_that_answers_404_in_the_api_format(tf: Terraform) -> None:
    rules, default = _path_rules(tf)
    assert default == "google_compute_backend_service.platform.id"
    assert _match(rules, default, "/no/such/route") == default
