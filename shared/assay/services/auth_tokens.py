"""Bearer tokens: JWT HS256 with `sub`, `email`, `iat`, `exp` (30 days)."""

from __future__ import annotations

import time
from typing import Any

import jwt

from assay.errors import TokenExpired, Unauthorized
from assay.models.citrus import User

TOKEN_TTL_S = 30 * 24 * 3600
ALGORITHM = "HS256"
# Instances' clocks may differ a little; a token is not refused for that.
LEEWAY_S = 30


class TokenSigner:
    def __init__(self, key: str) -> None:
        if len(key.encode()) < 32:
            raise ValueError("the JWT signing key must be at least 32 bytes")
        self._key = key

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {"sub": user.id, "email": user.email, "iat": now, "exp": now + TOKEN_TTL_S}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; only HS256 with this key is accepted (never `alg: none`)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                leeway=LEEWAY_S,
                options={"require": ["sub", "email", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("The token is not valid") from None
        return claims
