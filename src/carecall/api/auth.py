"""/api/v1/auth: enrolment, login, TOTP, logout; and /api/v1/me, /api/v1/roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from carecall.access import service
from carecall.access.errors import AuthRequired
from carecall.access.rules import PERMISSIONS, BreakGlassReason, Role
from carecall.access.service import LoginResult
from carecall.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AppDep,
    PrincipalDep,
    login_limit,
    session_cookie,
)
from carecall.api.errors import AUTHED, errors

router = APIRouter(prefix="/api/v1", tags=["auth"])
CookieDep = Annotated[str | None, Depends(session_cookie)]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class EnrolIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    stage: str = Field(description="'mfa': send a TOTP code next; 'full': logged in.")
    totp_enrolled: bool
    csrf_token: str = Field(description="Send back as X-CSRF-Token on state changes.")


class MfaIn(BaseModel):
    code: str | None = Field(default=None, max_length=10)
    recovery_code: str | None = Field(default=None, max_length=40)


class MfaOut(SessionOut):
    recovery_codes: list[str] = Field(description="Shown once, at TOTP enrolment only.")


class TotpSetupOut(BaseModel):
    otpauth_uri: str
    qr_svg_data_uri: str
    secret: str


class MeOut(BaseModel):
    kind: str
    id: str
    tenant_id: str | None
    roles: list[str]
    permissions: list[str]
    username: str | None
    training_valid_until: datetime | None
    elevated_until: datetime | None


class BreakGlassIn(BaseModel):
    reason: BreakGlassReason
    minutes: int = Field(default=30, ge=1, le=60)


class BreakGlassOut(BaseModel):
    elevated_until: datetime


class LogoutAllOut(BaseModel):
    sessions_ended: int


class RoleOut(BaseModel):
    role: str
    actions: list[str]


def _set_session(response: Response, result: LoginResult) -> SessionOut:
    for name, value, http_only in ((SESSION_COOKIE, result.token, True),
                                   (CSRF_COOKIE, result.csrf, False)):
        response.set_cookie(name, value, httponly=http_only, secure=True, samesite="strict",
                            path="/")
    return SessionOut(stage=result.stage, totp_enrolled=result.totp_enrolled,
                      csrf_token=result.csrf)


def _require(cookie: str | None) -> str:
    if not cookie:
        raise AuthRequired("Log in first.")
    return cookie


@router.post("/auth/login", response_model=SessionOut, summary="Password step of login",
             dependencies=[Depends(login_limit)], responses=errors(401, 422, 429))
def login(body: LoginIn, response: Response, app: AppDep) -> SessionOut:
    return _set_session(response, service.login(app, body.username, body.password))


@router.post("/auth/enrol", response_model=SessionOut, summary="Redeem an enrolment token",
             dependencies=[Depends(login_limit)], responses=errors(401, 422, 429))
def enrol(body: EnrolIn, response: Response, app: AppDep) -> SessionOut:
    return _set_session(response, service.enrol(app, body.token, body.password))


@router.post("/auth/mfa/enrol", response_model=TotpSetupOut, summary="Start TOTP enrolment",
             dependencies=[Depends(login_limit)], responses=errors(401, 409, 422, 429))
def mfa_enrol(app: AppDep, cookie: CookieDep) -> TotpSetupOut:
    setup = service.start_totp(app, _require(cookie))
    return TotpSetupOut(otpauth_uri=setup.uri, qr_svg_data_uri=setup.qr, secret=setup.secret)


@router.post("/auth/mfa/verify", response_model=MfaOut, summary="TOTP or recovery code",
             dependencies=[Depends(login_limit)], responses=errors(401, 422, 429))
def mfa_verify(body: MfaIn, response: Response, app: AppDep, cookie: CookieDep) -> MfaOut:
    result = service.verify_mfa(app, _require(cookie), body.code, body.recovery_code)
    out = _set_session(response, result.session)
    return MfaOut(**out.model_dump(), recovery_codes=result.recovery_codes)


@router.post("/auth/logout", status_code=204, summary="End this session",
             responses=errors(401, 422))
def logout(app: AppDep, cookie: CookieDep, request: Request) -> Response:
    if cookie:
        service.logout(app, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, secure=True, samesite="strict")
    return response


@router.post("/auth/logout-everywhere", response_model=LogoutAllOut,
             summary="End every session of this user", responses=errors(*AUTHED))
def logout_everywhere(app: AppDep, principal: PrincipalDep) -> LogoutAllOut:
    return LogoutAllOut(sessions_ended=service.logout_everywhere(app, principal))


@router.post("/auth/break-glass", response_model=BreakGlassOut,
             summary="Emergency access: time-limited, audited, privacy officers notified",
             responses=errors(*AUTHED))
def break_glass(body: BreakGlassIn, app: AppDep, principal: PrincipalDep) -> BreakGlassOut:
    return BreakGlassOut(elevated_until=service.break_glass(app, principal, body.reason,
                                                            body.minutes))


@router.get("/me", response_model=MeOut, summary="Who am I", responses=errors(*AUTHED))
def me(app: AppDep, principal: PrincipalDep) -> MeOut:
    user = service.me(app, principal)
    return MeOut(
        kind=principal.kind, id=principal.id,
        tenant_id=str(principal.tenant_id) if principal.tenant_id else None,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions) if principal.kind == "api_key" else sorted(
            a.value for r, a in PERMISSIONS if r.value in principal.roles),
        username=user.username if user else None,
        training_valid_until=principal.training_valid_until,
        elevated_until=principal.elevated_until,
    )


@router.get("/roles", response_model=list[RoleOut], summary="The permission matrix",
            responses=errors(*AUTHED))
def roles(_: PrincipalDep) -> list[RoleOut]:
    return [RoleOut(role=r.value, actions=sorted(a.value for rr, a in PERMISSIONS if rr == r))
            for r in Role]
