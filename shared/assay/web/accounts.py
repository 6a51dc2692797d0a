"""Citrus account handlers: parse the request, call the auth service, return its model."""

from __future__ import annotations

from assay.errors import Unauthorized
from assay.models.citrus import LoginIn, MeOut, OtpSent, RegisterIn, TokenOut, VerifyOtpIn
from assay.services.auth import AuthService
from assay.web.app import ApiRequest


def register(req: ApiRequest) -> OtpSent:
    return req.c.auth.register(req.model(RegisterIn))


def login(req: ApiRequest) -> OtpSent:
    return req.c.auth.login(req.model(LoginIn))


def verify_otp(req: ApiRequest) -> TokenOut:
    return req.c.auth.verify(req.model(VerifyOtpIn))


def me(req: ApiRequest) -> MeOut:
    if req.user is None:  # the route is bearer-only; this guards a misconfigured table
        raise Unauthorized("Authentication required")
    return AuthService.me(req.user)
