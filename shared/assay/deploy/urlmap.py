"""The load balancer's URL map, derived from the routing table.

A URL-map path rule is either an exact path or a prefix ending in `/*`, and the longest matching
rule wins. Each route becomes: its path and the same path with a trailing slash when it has no
variable part, else the literal part before its first variable plus `/*`. Two functions claiming
the same rule cannot both be served: that is an error here, not a surprise in production.
"""

from __future__ import annotations

from collections.abc import Iterable

from assay.web.routes import ROUTES, Route


class RouteConflict(ValueError):
    pass


def lb_paths(rule: str) -> list[str]:
    """The URL-map paths that send every request matching `rule` to its function."""
    literal: list[str] = []
    for part in rule.strip("/").split("/"):
        if not part:
            continue
        if part.startswith("<"):
            return ["/" + "".join(f"{p}/" for p in literal) + "*"]
        literal.append(part)
    path = "/" + "/".join(literal)
    return [path] if path == "/" else [path, path + "/"]


def path_rules(routes: Iterable[Route] = ROUTES) -> dict[str, str]:
    """URL-map path -> function, in table order."""
    owner: dict[str, tuple[str, str]] = {}
    for route in routes:
        for path in lb_paths(route.rule):
            seen = owner.setdefault(path, (route.function, route.rule))
            if seen[0] != route.function:
                raise RouteConflict(
                    f"routes {seen[1]} ({seen[0]}) and {route.rule} ({route.function}) both need "
                    f"the load-balancer path {path}: give one of them a distinct literal prefix "
                    "in shared/assay/web/routes.py"
                )
    return {path: fn for path, (fn, _) in owner.items()}


def by_function(rules: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, fn in rules.items():
        out.setdefault(fn, []).append(path)
    return out
