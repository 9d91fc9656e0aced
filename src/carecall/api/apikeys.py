"""/api/v1/tenants/{tenant_id}/api-keys: machine credentials scoped to one practice."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from carecall.access import apikeys
from carecall.access.model import ApiKey
from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/api-keys", tags=["api keys"],
                   responses=errors(*AUTHED))


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    prefix: str
    name: str
    permissions: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    permissions: list[str] = Field(min_length=1, max_length=20)
    days: int = Field(default=90, ge=1, le=365)


class NewApiKeyOut(ApiKeyOut):
    secret: str = Field(description="The whole key; shown once, only its hash is stored.")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=key.id, tenant_id=key.tenant_id, prefix=key.prefix, name=key.name,
                     permissions=sorted(key.permissions), created_at=key.created_at,
                     expires_at=key.expires_at, last_used_at=key.last_used_at,
                     revoked=key.revoked_at is not None)


@router.get("", response_model=list[ApiKeyOut], summary="List a practice's API keys")
def list_keys(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> list[ApiKeyOut]:
    return [_out(k) for k in apikeys.list_keys(app, principal, tenant_id)]


@router.post("", response_model=NewApiKeyOut, status_code=201, summary="Create an API key")
def create_key(tenant_id: uuid.UUID, body: ApiKeyIn, app: AppDep,
               principal: PrincipalDep) -> NewApiKeyOut:
    key, secret = apikeys.create_key(app, principal, tenant_id, body.name,
                                     frozenset(body.permissions), body.days)
    return NewApiKeyOut(**_out(key).model_dump(), secret=secret)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(tenant_id: uuid.UUID, key_id: uuid.UUID, app: AppDep,
               principal: PrincipalDep) -> Response:
    apikeys.revoke_key(app, principal, tenant_id, key_id)
    return Response(status_code=204)
