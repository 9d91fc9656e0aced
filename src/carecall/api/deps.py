"""Request dependencies: who is calling (session cookie or API key), CSRF, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from carecall.access.apikeys import authenticate_key
from carecall.access.errors import AuthRequired
from carecall.access.model import Principal
from carecall.access.ratelimit import SlidingWindow
from carecall.access.service import authenticate
from carecall.app import Carecall

SESSION_COOKIE = "carecall_session"
CSRF_COOKIE = "carecall_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                              description="Session cookie set by login and MFA verification.")
csrf_header = APIKeyHeader(name=CSRF_HEADER, auto_error=False,
                           description="Double-submit CSRF token, required with the session "
                           "cookie on POST/PUT/PATCH/DELETE.")
bearer = HTTPBearer(auto_error=False, description="An API key: cck_<prefix>_<secret>.")


def carecall(request: Request) -> Carecall:
    app: Carecall = request.app.state.carecall
    return app


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_principal(
    request: Request,
    cookie: Annotated[str | None, Depends(session_cookie)],
    csrf: Annotated[str | None, Depends(csrf_header)],
    key: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    app = carecall(request)
    if key is not None:
        principal = authenticate_key(app, key.credentials)
    elif cookie:
        principal = authenticate(
            app, cookie, csrf=csrf, state_changing=request.method not in SAFE_METHODS
        )
    else:
        raise AuthRequired("Log in first, or send an API key as a Bearer token.")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AppDep = Annotated[Carecall, Depends(carecall)]


def login_limit(request: Request) -> None:
    limiter: SlidingWindow = request.app.state.login_limiter
    limiter.hit(client_ip(request))


def phi_limit(request: Request, principal: PrincipalDep) -> None:
    limiter: SlidingWindow = request.app.state.phi_limiter
    limiter.hit(principal.actor)
