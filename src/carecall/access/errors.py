"""Errors of authentication and access; each has a stable code the API documents."""

from __future__ import annotations

from carecall.core.errors import CarecallError


class AuthFailed(CarecallError):
    """Wrong credentials, unknown user, locked or disabled account: one answer for all, so
    the reply never tells whether a user exists."""

    code = "AUTH_FAILED"
    http_status = 401


class AuthRequired(CarecallError):
    code = "AUTH_REQUIRED"
    http_status = 401


class SessionExpired(CarecallError):
    """45 CFR 164.312(a)(2)(iii): automatic logoff after inactivity or the absolute limit."""

    code = "SESSION_EXPIRED"
    http_status = 401


class MfaRequired(CarecallError):
    code = "MFA_REQUIRED"
    http_status = 401


class CsrfFailed(CarecallError):
    code = "CSRF_FAILED"
    http_status = 403


class RateLimited(CarecallError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
