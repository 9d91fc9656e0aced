"""The FastAPI application factory.

Only health endpoints exist at this stage: endpoints that expose PHI arrive together with
authentication (the access issue), and none may exist without it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from carecall import __version__
from carecall.app import Carecall
from carecall.core.errors import CarecallError


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"code": code, "message": message},
        headers={"Cache-Control": "no-store"},
    )


def create_api(app: Carecall, *, publish_heads: bool = True) -> FastAPI:
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

    @api.exception_handler(CarecallError)
    async def carecall_error(_: Request, exc: CarecallError) -> JSONResponse:
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
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    from carecall.api import health

    api.include_router(health.router)
    return api
