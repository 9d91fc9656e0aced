"""The FastAPI application factory: routers, the one error handler, security headers,
body limits and the in-process rate limiters.

Every /api/v1 response carries ``Cache-Control: no-store`` (PHI must not sit in caches),
HSTS, a deny-everything CSP and frame denial.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from carecall import __version__
from carecall.access.errors import RateLimited
from carecall.access.ratelimit import SlidingWindow
from carecall.api.body_limit import BodyLimit
from carecall.app import Carecall
from carecall.core.errors import CarecallError

MAX_BODY = 1_000_000
MAX_IMPORT_BODY = 6_000_000
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; frame-ancestors 'none'; base-uri 'none'"
)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"code": code, "message": message},
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _security_headers(path: str, response: Response) -> None:
    headers = response.headers
    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    docs = path in ("/docs", "/redoc") or path.startswith("/docs/")
    headers["Content-Security-Policy"] = DOCS_CSP if docs else API_CSP
    if path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"


def create_api(
    app: Carecall,
    *,
    publish_heads: bool = True,
    login_per_minute: int = 20,
    phi_per_minute: int = 300,
) -> FastAPI:
    """The API. Rate limits count per process (see ``access.ratelimit``)."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from carecall.api.heads import HeadPublisher

        publisher = HeadPublisher(app) if publish_heads else None
        if publisher:
            publisher.start()
        try:
            yield
        finally:
            if publisher:
                publisher.stop()

    api = FastAPI(
        title="carecall",
        version=__version__,
        lifespan=lifespan,
        description="AI phone and SMS agent for healthcare practices.",
    )
    api.state.carecall = app
    api.state.login_limiter = SlidingWindow(login_per_minute, 60.0)
    api.state.phi_limiter = SlidingWindow(phi_per_minute, 60.0)

    @api.exception_handler(CarecallError)
    async def carecall_error(_: Request, exc: CarecallError) -> JSONResponse:
        if isinstance(exc, RateLimited):
            return _error(429, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})
        return _error(exc.http_status, exc.code, exc.message)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return _error(422, "INVALID_INPUT", "Invalid request: check " + ", ".join(fields) + ".")

    @api.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error(
            500,
            "INTERNAL",
            "Internal error; nothing is shown because details could contain patient data.",
        )

    @api.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = uuid.uuid4().hex
        limit = body_limit(request.url.path)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response: Response = _error(
                413, "PAYLOAD_TOO_LARGE", f"Request body over {limit} bytes; send less."
            )
        else:
            response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        _security_headers(request.url.path, response)
        return response

    from carecall.api import (
        apikeys,
        auth,
        consent,
        health,
        patients,
        tenants,
        twilio_sms,
        twilio_voice,
        users,
    )

    api.include_router(health.router)
    from carecall.api import calls, campaigns, handoffs, notifications

    for module in (auth, users, tenants, apikeys, patients, twilio_voice, twilio_sms, consent,
                   campaigns, calls, handoffs, notifications):
        api.include_router(module.router)
    api.add_middleware(BodyLimit, limit_for=body_limit)
    return api


def body_limit(path: str) -> int:
    return MAX_IMPORT_BODY if path.endswith("/import") else MAX_BODY
