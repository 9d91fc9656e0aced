"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carecall.core.errors import CarecallError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    keys: str


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database and keys are reachable",
    responses={503: {"model": Readiness}},
)
def readyz(request: Request) -> JSONResponse:
    app = request.app.state.carecall
    checks = {"database": "ok", "keys": "ok"}
    for name, check in (("database", app.db.ping), ("keys", app.key_provider.check)):
        try:
            check()
        except CarecallError as exc:
            checks[name] = exc.code
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", **checks)
    return JSONResponse(status_code=200 if ready else 503, content=body.model_dump())
