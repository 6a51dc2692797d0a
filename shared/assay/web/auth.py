"""Authentication of a route: HTTP Basic for Litmus (Bearer for Citrus comes with accounts)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from werkzeug.wrappers import Request

from assay.errors import Unauthorized
from assay.web.routes import Route


class BasicUnauthorized(Unauthorized):
    headers = {"WWW-Authenticate": 'Basic realm="Assay"'}


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def check_basic(header: str | None, username: str, password: str) -> bool:
    """Constant-time check of an `Authorization: Basic ...` header."""
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, given = decoded.partition(":")
    user_ok = hmac.compare_digest(_digest(user), _digest(username))
    pass_ok = hmac.compare_digest(_digest(given), _digest(password))
    return bool(sep) and user_ok and pass_ok


def authenticate(route: Route, request: Request) -> None:
    if route.auth == "none":
        return
    from assay.bootstrap import container

    c = container()
    if route.auth == "basic":
        if c.settings.disable_auth:
            return
        if not check_basic(
            request.headers.get("Authorization"), c.settings.username, c.api_password()
        ):
            raise BasicUnauthorized("Unauthorized")
        return
    raise Unauthorized("Bearer authentication is not available yet")
