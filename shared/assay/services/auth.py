"""Citrus accounts: register and log in with a one-time code sent by email, then a bearer token.

Nothing a client sees depends on whether an email has an account: login for an unknown email
stores a code record that can never match and sends nothing; register for a known email sends
a login code. Records for both kinds throttle and count tries the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections.abc import Callable

from assay.adapters.accounts import Accounts
from assay.adapters.email import EmailUnavailable, Mailer
from assay.errors import InvalidOtp, RateLimited, Unauthorized
from assay.models.citrus import (
    LoginIn,
    MeOut,
    OtpRecord,
    OtpSent,
    RegisterIn,
    TokenOut,
    User,
    UserOut,
    VerifyOtpIn,
)
from assay.services.auth_tokens import TOKEN_TTL_S, TokenSigner
from assay.timeutil import now_iso

OTP_TTL_S = 600
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_S = 60
SENT = "OTP sent to email"
_NO_DIGEST = "0" * 64


class AuthService:
    def __init__(
        self,
        accounts: Accounts,
        mailer: Mailer,
        signer: TokenSigner,
        pepper: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = accounts
        self.mailer = mailer
        self.signer = signer
        self._pepper = pepper
        self._clock = clock

    def _digest(self, salt: bytes, code: str) -> str:
        """Salted and keyed: a leaked record cannot be brute-forced without the server key."""
        return hmac.new(self._pepper, salt + code.encode(), hashlib.sha256).hexdigest()

    def _send_code(self, email: str, user: User | None) -> None:
        now = self._clock()
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_bytes(16)
        record = OtpRecord(
            email=email,
            salt=salt.hex(),
            digest=self._digest(salt, code) if user else None,
            created_at=now,
            expires_at=now + OTP_TTL_S,
        )
        wait = self.accounts.put_otp(record, min_interval_s=OTP_RESEND_S)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"A code was sent to this email less than {OTP_RESEND_S} seconds ago; "
                f"retry after {seconds} seconds.",
                retry_after=seconds,
            )
        if user is None:
            return
        try:
            self.mailer.send_code(email, user.name, code, OTP_TTL_S // 60)
        except EmailUnavailable:
            self.accounts.drop_otp(email, now)  # the client may retry at once
            raise

    def register(self, body: RegisterIn) -> OtpSent:
        user = self.accounts.user_by_email(body.email)
        if user is None:
            new = User(id=uuid.uuid4().hex, email=body.email, name=body.name, created_at=now_iso())
            user = self.accounts.create_user(new)
        self._send_code(body.email, user)
        return OtpSent(message=SENT, email=body.email)

    def login(self, body: LoginIn) -> OtpSent:
        self._send_code(body.email, self.accounts.user_by_email(body.email))
        return OtpSent(message=SENT, email=body.email)

    def verify(self, body: VerifyOtpIn) -> TokenOut:
        def matches(record: OtpRecord) -> bool:
            candidate = self._digest(bytes.fromhex(record.salt), body.otp)
            same = hmac.compare_digest(record.digest or _NO_DIGEST, candidate)
            return same and record.digest is not None

        outcome = self.accounts.consume_otp(
            body.email, matches, now=self._clock(), max_attempts=OTP_MAX_ATTEMPTS
        )
        if outcome == "exhausted":
            raise InvalidOtp("Too many wrong codes; request a new one", field="otp")
        user = self.accounts.user_by_email(body.email) if outcome == "ok" else None
        if user is None:
            raise InvalidOtp("The code is wrong or has expired", field="otp")
        return TokenOut(
            access_token=self.signer.issue(user),
            expires_in=TOKEN_TTL_S,
            user=UserOut(id=user.id, email=user.email, name=user.name),
        )

    def user_of_token(self, token: str) -> User:
        claims = self.signer.claims(token)
        user = self.accounts.user_by_id(str(claims["sub"]))
        if user is None or user.email != claims["email"]:
            raise Unauthorized("The account of this token no longer exists")
        return user

    @staticmethod
    def me(user: User) -> MeOut:
        return MeOut(**user.model_dump())
