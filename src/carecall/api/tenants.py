"""/api/v1/tenants: practices and their business associate agreements."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors
from carecall.core.ids import new_id
from carecall.tenants import service
from carecall.tenants.model import Baa, Purpose, RecordingMode, Tenant

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"], responses=errors(*AUTHED))


class BaaOut(BaseModel):
    id: uuid.UUID
    effective_on: date
    expires_on: date | None
    signed_by: str
    permitted_purposes: list[Purpose]
    status: str


class TenantOut(BaseModel):
    id: uuid.UUID
    slug: str
    display_name: str
    contact_phone: str
    timezone: str
    agent_name: str
    phone_numbers: list[str]
    recording_mode: str
    session_idle_minutes: int
    baas: list[BaaOut]


class TenantIn(BaseModel):
    slug: str = Field(min_length=1, max_length=60)
    display_name: str = Field(min_length=1, max_length=200)
    contact_phone: str = Field(min_length=1, max_length=30)
    timezone: str = Field(default="America/New_York", max_length=64)
    agent_name: str = Field(default="Ava", min_length=1, max_length=60)
    phone_numbers: list[str] = Field(default_factory=list, max_length=20)
    recording_mode: RecordingMode = "off"
    session_idle_minutes: int = Field(default=15, ge=1, le=30)


class BaaIn(BaseModel):
    effective_on: date
    expires_on: date | None = None
    signed_by: str = Field(min_length=1, max_length=200)
    purposes: list[Purpose] = Field(min_length=1)


def _baa(b: Baa) -> BaaOut:
    return BaaOut(id=b.id, effective_on=b.effective_on, expires_on=b.expires_on,
                  signed_by=b.signed_by, permitted_purposes=sorted(b.permitted_purposes),
                  status=b.status)


def _out(t: Tenant) -> TenantOut:
    return TenantOut(id=t.id, slug=t.slug, display_name=t.display_name,
                     contact_phone=t.contact_phone, timezone=t.timezone,
                     agent_name=t.agent_name, phone_numbers=list(t.phone_numbers),
                     recording_mode=t.recording_mode,
                     session_idle_minutes=t.session_idle_minutes,
                     baas=[_baa(b) for b in t.baas])


@router.get("", response_model=list[TenantOut], summary="Practices you can see")
def list_tenants(app: AppDep, principal: PrincipalDep) -> list[TenantOut]:
    return [_out(t) for t in service.list_tenants(app, principal)]


@router.post("", response_model=TenantOut, status_code=201, summary="Create a practice",
             responses=errors(409))
def create_tenant(body: TenantIn, app: AppDep, principal: PrincipalDep) -> TenantOut:
    tenant = Tenant(id=new_id(), slug=body.slug, display_name=body.display_name,
                    contact_phone=body.contact_phone, timezone=body.timezone,
                    agent_name=body.agent_name, phone_numbers=tuple(body.phone_numbers),
                    recording_mode=body.recording_mode,
                    session_idle_minutes=body.session_idle_minutes)
    return _out(service.create_tenant(app, principal, tenant))


@router.get("/{tenant_id}", response_model=TenantOut, summary="One practice")
def get_tenant(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> TenantOut:
    return _out(service.get_tenant(app, principal, tenant_id))


@router.post("/{tenant_id}/baas", response_model=BaaOut, status_code=201,
             summary="Record a BAA")
def add_baa(tenant_id: uuid.UUID, body: BaaIn, app: AppDep, principal: PrincipalDep) -> BaaOut:
    return _baa(service.add_baa(app, principal, tenant_id, effective_on=body.effective_on,
                                expires_on=body.expires_on, signed_by=body.signed_by,
                                purposes=frozenset(body.purposes)))


@router.post("/{tenant_id}/baas/{baa_id}/terminate", status_code=204,
             summary="Terminate a BAA")
def terminate_baa(tenant_id: uuid.UUID, baa_id: uuid.UUID, app: AppDep,
                  principal: PrincipalDep) -> Response:
    service.terminate_baa(app, principal, tenant_id, baa_id)
    return Response(status_code=204)
