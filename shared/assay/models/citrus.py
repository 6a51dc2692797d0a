"""Pydantic models of the Citrus API's accounts and platform routes: request bodies, responses,
stored documents and the error envelope. They feed validation and /openapi.json alike."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

# No control characters at all (CR/LF would let a name or address forge mail headers).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _email(value: str) -> str:
    """One spelling per mailbox: addresses compare case-insensitively."""
    return value.strip().lower()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterIn(_Body):
    email: EmailStr = Field(max_length=254, examples=["user@example.com"])
    name: str = Field(min_length=1, max_length=100, examples=["John Doe"])

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _email(value)

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("name must not contain control characters or line breaks")
        return value


class LoginIn(_Body):
    email: EmailStr = Field(max_length=254, examples=["user@example.com"])

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _email(value)


class VerifyOtpIn(LoginIn):
    otp: str = Field(pattern=r"^[0-9]{6}$", examples=["123456"], description="The 6-digit code")


class OtpSent(BaseModel):
    message: str = Field(examples=["OTP sent to email"])
    email: str


class UserOut(BaseModel):
    id: str
    email: str
    name: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires", examples=[2592000])
    user: UserOut


class MeOut(UserOut):
    created_at: str = Field(examples=["2026-03-23T10:00:00.000Z"])


# -- stored documents -----------------------------------------------------------------------


class User(BaseModel):
    id: str
    email: str
    name: str
    created_at: str


class OtpRecord(BaseModel):
    """One pending code per email. `digest` is None for an email without an account: the record
    still throttles and counts tries, so unknown emails behave exactly like known ones."""

    email: str
    salt: str
    digest: str | None
    created_at: float
    expires_at: float
    attempts: int = 0


# -- errors ---------------------------------------------------------------------------------


class ErrorEnvelope(BaseModel):
    """Every Citrus error."""

    error: str = Field(examples=["Validation Error"])
    detail: str = Field(examples=["Missing 'email' in request data"])
    code: str = Field(examples=["VALIDATION_ERROR"])
    timestamp: str = Field(examples=["2026-03-23T10:00:00.000Z"])
    field: str | None = Field(None, description="The request field at fault, when there is one")
    retry_after: int | None = Field(None, description="Seconds to wait (429 only)")


class LitmusError(BaseModel):
    """Every Litmus error."""

    error: str


class LitmusMessage(BaseModel):
    message: str


# -- platform -------------------------------------------------------------------------------


class RootOut(BaseModel):
    name: str
    version: str
    status: str
    message: str
    endpoints: dict[str, str | dict[str, str]]
    timestamp: str


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    database: str
    log_store: str
    queue: str
    email: str
    log_backlog: int = Field(description="Log rows waiting to be written to the log store")
    version: str
    assay_version: str
    uptime_seconds: float
    timestamp: str


class Limits(BaseModel):
    max_message_length: int
    max_chat_history: int
    max_concurrent_requests: int
    request_timeout_seconds: int
    rate_limits_per_minute: dict[str, int]


class InfoOut(BaseModel):
    platform: str
    version: str
    assay_version: str
    features: list[str]
    supported_models: list[str]
    capabilities: dict[str, bool]
    limits: Limits
    timestamp: str
