"""/api/v1/tenants/{tenant_id}/patients: search, masked reads, reveals, writes, imports.

Every response is a minimum-necessary view: only the sections the caller's role and the
declared purpose need, masked unless revealed with a reason (``access.views``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from carecall.access import views
from carecall.access.rules import RevealReason, Section
from carecall.api.deps import AppDep, PrincipalDep, phi_limit
from carecall.api.errors import AUTHED, errors
from carecall.core.errors import InvalidInput
from carecall.patients import service
from carecall.patients.imports import parse_csv, parse_fhir_bundle
from carecall.patients.model import Address, PatientInput
from carecall.patients.rules import normalise_phone, valid_email
from carecall.tenants.model import Purpose

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/patients", tags=["patients"],
                   dependencies=[Depends(phi_limit)], responses=errors(*AUTHED, 410))

MAX_IMPORT_CHARS = 5_000_000


class AppointmentOut(BaseModel):
    id: str
    start: str
    provider: str
    location: str
    status: str


class ItemOut(BaseModel):
    name: str
    status: str


class InvoiceOut(BaseModel):
    number: str
    balance: str


class BillingOut(BaseModel):
    last_date_of_service: str | None
    invoices: list[InvoiceOut]


class PatientView(BaseModel):
    """A patient as this caller may see them; absent fields are outside the minimum
    necessary for the role and purpose, '***' marks a masked value."""

    id: str
    sections: list[str]
    revealed: list[str]
    first_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    phones: list[str] | None = None
    email: str | None = None
    address: str | None = None
    mrn: str | None = None
    appointments: list[AppointmentOut] | None = None
    billing: BillingOut | None = None
    prescriptions: list[ItemOut] | None = None
    lab_results: list[ItemOut] | None = None


class AddressIn(BaseModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=2, max_length=2)
    zip: str = Field(min_length=5, max_length=10)


class PatientIn(BaseModel):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    dob: date
    phones: list[str] = Field(default_factory=list, max_length=5)
    email: str | None = Field(default=None, max_length=200)
    mrn: str | None = Field(default=None, max_length=60)
    address: AddressIn | None = None


class CreatedOut(BaseModel):
    id: uuid.UUID


class RevealIn(BaseModel):
    sections: list[Section] = Field(min_length=1)
    reason: RevealReason


class ImportIn(BaseModel):
    format: Literal["csv", "fhir"]
    content: str = Field(min_length=1, max_length=MAX_IMPORT_CHARS)


class ImportOut(BaseModel):
    imported: int


def _input(body: PatientIn, today: date) -> PatientInput:
    phones = []
    for raw in body.phones:
        phone = normalise_phone(raw)
        if phone is None:
            raise InvalidInput("A phone number is not valid; use E.164 (+1...).")
        phones.append(phone)
    if body.email is not None and not valid_email(body.email):
        raise InvalidInput("The email address is not valid.")
    if body.dob > today or body.dob.year < 1880:
        raise InvalidInput("The date of birth is not plausible.")
    address = None
    if body.address is not None:
        a = body.address
        address = Address(line1=a.line1, line2=a.line2, city=a.city, state=a.state.upper(),
                          zip=a.zip)
    return PatientInput(first_name=body.first_name.strip(), last_name=body.last_name.strip(),
                        dob=body.dob, phones=tuple(phones), email=body.email, mrn=body.mrn,
                        address=address)


def _view(data: dict[str, Any]) -> PatientView:
    return PatientView.model_validate(data)


@router.get("", response_model=list[PatientView],
            response_model_exclude_unset=True, summary="Search by phone or date of birth")
def search(
    tenant_id: uuid.UUID,
    app: AppDep,
    principal: PrincipalDep,
    purpose: Purpose,
    phone: str | None = Query(default=None, max_length=30),
    dob: date | None = None,
) -> list[PatientView]:
    found = views.search(app, principal, tenant_id, purpose, phone=phone, dob=dob)
    return [_view(v) for v in found]


@router.post("", response_model=CreatedOut, status_code=201, summary="Add a patient")
def create(tenant_id: uuid.UUID, body: PatientIn, app: AppDep,
           principal: PrincipalDep) -> CreatedOut:
    data = _input(body, app.clock.now().date())
    return CreatedOut(id=service.create_patient(app, principal, tenant_id, data))


@router.post("/import", response_model=ImportOut, status_code=201,
             summary="Import a CSV file or FHIR R4 Bundle: all records or none")
def import_(tenant_id: uuid.UUID, body: ImportIn, app: AppDep,
            principal: PrincipalDep) -> ImportOut:
    parse = parse_csv if body.format == "csv" else parse_fhir_bundle
    records, problems = parse(body.content.encode("utf-8"), app.clock.now().date())
    if problems:
        listed = "; ".join(str(p) for p in problems[:10])
        raise InvalidInput(f"{len(problems)} problem(s), nothing imported: {listed}")
    ids = service.import_patients(app, principal, tenant_id, records, source=body.format)
    return ImportOut(imported=len(ids))


@router.get("/{patient_id}", response_model=PatientView, response_model_exclude_unset=True,
            summary="Read one patient, masked")
def read(tenant_id: uuid.UUID, patient_id: uuid.UUID, purpose: Purpose, app: AppDep,
         principal: PrincipalDep) -> PatientView:
    return _view(views.read(app, principal, tenant_id, patient_id, purpose))


@router.put("/{patient_id}", status_code=204, summary="Update a patient's identity fields")
def update(tenant_id: uuid.UUID, patient_id: uuid.UUID, body: PatientIn, app: AppDep,
           principal: PrincipalDep) -> Response:
    service.update_patient(app, principal, tenant_id, patient_id,
                           _input(body, app.clock.now().date()))
    return Response(status_code=204)


@router.post("/{patient_id}/reveal", response_model=PatientView,
             response_model_exclude_unset=True,
             summary="Unmask sections of a record, with a reason (audited)")
def reveal(tenant_id: uuid.UUID, patient_id: uuid.UUID, purpose: Purpose, body: RevealIn,
           app: AppDep, principal: PrincipalDep) -> PatientView:
    return _view(views.reveal(app, principal, tenant_id, patient_id, purpose,
                              frozenset(body.sections), body.reason))


@router.get("/{patient_id}/appointments", response_model=list[AppointmentOut],
            summary="A patient's appointments (scheduling purposes)")
def appointments(tenant_id: uuid.UUID, patient_id: uuid.UUID, purpose: Purpose, app: AppDep,
                 principal: PrincipalDep) -> list[AppointmentOut]:
    return [AppointmentOut.model_validate(a)
            for a in views.appointments(app, principal, tenant_id, patient_id, purpose)]
