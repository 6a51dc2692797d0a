"""Authentication of a route: HTTP Basic for Litmus, a bearer JWT for Citrus."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request

from assay.errors import Unauthorized
from assay.web.routes import Route

if TYPE_CHECKING:
    from assay.models.citrus import User


class BasicUnauthorized(Unauthorized):
    headers = {"WWW-Authenticate": 'Basic realm="Assay"'}


BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="Assay"'}


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


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


def authenticate(route: Route, request: Request) -> User | None:
    """The signed-in Citrus user on bearer routes; None elsewhere. Raises Unauthorized."""
    if route.auth == "none":
        return None
    from assay.bootstrap import container

    c = container()
    if route.auth == "basic":
        if c.settings.disable_auth:
            return None
        if not check_basic(
            request.headers.get("Authorization"), c.settings.username, c.api_password()
        ):
            raise BasicUnauthorized("Unauthorized")
        return None
    token = bearer_token(request)
    try:
        if token is None:
            raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'")
        return c.auth.user_of_token(token)
    except Unauthorized as exc:
        exc.headers = BEARER_CHALLENGE  # type: ignore[attr-defined]
        raise
