"""Errors as types. The web layer maps each to an HTTP status once (web/errors.py)."""

from __future__ import annotations


class AssayError(Exception):
    """Base of every error a client may see. `message` is safe to show."""

    status = 500
    code = "INTERNAL_ERROR"
    title = "Internal Server Error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(AssayError):
    status = 400
    code = "VALIDATION_ERROR"
    title = "Bad Request"


class ValidationFailed(BadRequest):
    """A body that parsed but does not fit the schema (Citrus answers 422 for these)."""

    title = "Validation Error"


class Unauthorized(AssayError):
    status = 401
    code = "AUTH_REQUIRED"
    title = "Unauthorized"


class NotFound(AssayError):
    status = 404
    code = "NOT_FOUND"
    title = "Not Found"


class MethodNotAllowed(AssayError):
    status = 405
    code = "METHOD_NOT_ALLOWED"
    title = "Method Not Allowed"


class Conflict(AssayError):
    status = 409
    code = "CONFLICT"
    title = "Conflict"


class PayloadTooLarge(AssayError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    title = "Payload Too Large"


class Unavailable(AssayError):
    """A backing service (store, queue) could not be reached; the caller may retry."""

    status = 503
    code = "DATABASE_ERROR"
    title = "Service Unavailable"


class TokenExpired(Unauthorized):
    code = "TOKEN_EXPIRED"


class InvalidOtp(Unauthorized):
    code = "INVALID_OTP"


class RateLimited(AssayError):
    """Too many requests; `retry_after` seconds until the client may try again."""

    status = 429
    code = "RATE_LIMITED"
    title = "Rate Limit Exceeded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
