"""/api/v1/tenants/{tenant_id}: consents, opt-outs, their review, and the do-not-call list.

Phone numbers travel in request bodies, never in URLs (URLs end up in access logs).
"""

from __future__ import annotations

import binascii
import uuid
from base64 import b64decode
from datetime import datetime

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from carecall.api.deps import AppDep, PrincipalDep, phi_limit
from carecall.api.errors import AUTHED, errors
from carecall.consent import service
from carecall.consent.model import (
    Consent,
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
    OptOutScope,
    OptOutSource,
    ReviewStatus,
)
from carecall.core.errors import InvalidInput
from carecall.policy.model import Channel

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["consent"],
                   dependencies=[Depends(phi_limit)], responses=errors(*AUTHED))

MAX_DNC_CHARS = 5_000_000


class ConsentIn(BaseModel):
    phone: str = Field(min_length=3, max_length=30)
    kind: ConsentKind
    form: ConsentForm
    given_at: datetime
    evidence_kind: EvidenceKind | None = None
    evidence_ref: str | None = Field(default=None, max_length=200)
    #: A signed form's bytes, base64 (stored encrypted).
    document_base64: str | None = Field(default=None, max_length=7_000_000)
    content_type: str | None = Field(default=None, max_length=100)


class ConsentOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    phone: str
    kind: str
    form: str
    given_at: datetime
    revoked_at: datetime | None
    source: str
    evidence_kind: str | None


class CreatedOut(BaseModel):
    id: uuid.UUID


class OptOutIn(BaseModel):
    phone: str | None = Field(default=None, min_length=3, max_length=30)
    patient_id: uuid.UUID | None = None
    channel: Channel = Channel.VOICE
    scope: OptOutScope = OptOutScope.ALL


class OptOutOut(BaseModel):
    id: uuid.UUID | None
    recorded: bool
    review_id: uuid.UUID | None


class ReviewOut(BaseModel):
    id: uuid.UUID
    opt_out_id: uuid.UUID
    reason: str
    status: str
    created_at: datetime
    text: str | None


class ResolveIn(BaseModel):
    revocation: bool


class PhoneIn(BaseModel):
    phone: str = Field(min_length=3, max_length=30)


class DncOut(BaseModel):
    id: uuid.UUID
    phone: str
    source: str
    added_at: datetime


class DncImportIn(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_DNC_CHARS)


class DncImportOut(BaseModel):
    added: int
    already_listed: int


def _out(c: Consent) -> ConsentOut:
    return ConsentOut(id=c.id, patient_id=c.patient_id, phone=c.phone, kind=str(c.kind),
                      form=str(c.form), given_at=c.given_at, revoked_at=c.revoked_at,
                      source=c.source,
                      evidence_kind=str(c.evidence_kind) if c.evidence_kind else None)


@router.get("/patients/{patient_id}/consents", response_model=list[ConsentOut],
            summary="A patient's consents")
def list_consents(tenant_id: uuid.UUID, patient_id: uuid.UUID, app: AppDep,
                  principal: PrincipalDep) -> list[ConsentOut]:
    return [_out(c) for c in service.list_consents(app, principal, tenant_id, patient_id)]


@router.post("/patients/{patient_id}/consents", response_model=CreatedOut, status_code=201,
             summary="Record a consent with its evidence")
def add_consent(tenant_id: uuid.UUID, patient_id: uuid.UUID, body: ConsentIn, app: AppDep,
                principal: PrincipalDep) -> CreatedOut:
    evidence = None
    if body.evidence_kind is not None:
        document = None
        if body.document_base64:
            try:
                document = b64decode(body.document_base64, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput("document_base64 is not valid base64.") from None
        evidence = Evidence(body.evidence_kind, reference=body.evidence_ref, document=document,
                            content_type=body.content_type)
    data = ConsentInput(patient_id=patient_id, phone=body.phone, kind=body.kind,
                        form=body.form, given_at=body.given_at, source=ConsentSource.API,
                        evidence=evidence)
    return CreatedOut(id=service.add_consent(app, principal, tenant_id, data))


@router.post("/consents/{consent_id}/revoke", status_code=204, summary="Revoke a consent now")
def revoke(tenant_id: uuid.UUID, consent_id: uuid.UUID, app: AppDep,
           principal: PrincipalDep) -> Response:
    service.revoke_consent(app, principal, tenant_id, consent_id, ConsentSource.API)
    return Response(status_code=204)


@router.post("/opt-outs", response_model=OptOutOut, status_code=201,
             summary="Record an opt-out (effective at once)")
def opt_out(tenant_id: uuid.UUID, body: OptOutIn, app: AppDep,
            principal: PrincipalDep) -> OptOutOut:
    result = service.record_opt_out(app, principal, tenant_id, phone=body.phone,
                                    patient_id=body.patient_id, channel=body.channel,
                                    source=OptOutSource.API, scope=body.scope)
    return OptOutOut(id=result.opt_out_id, recorded=result.recorded,
                     review_id=result.review_id)


@router.get("/consent-reviews", response_model=list[ReviewOut],
            summary="Unclear messages treated as opt-outs, waiting for a human")
def reviews(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep,
            status: ReviewStatus = ReviewStatus.PENDING,
            with_text: bool = False) -> list[ReviewOut]:
    found = service.list_reviews(app, principal, tenant_id, status=status, with_text=with_text)
    return [ReviewOut(id=r.id, opt_out_id=r.opt_out_id, reason=r.reason, status=str(r.status),
                      created_at=r.created_at, text=r.text) for r in found]


@router.post("/consent-reviews/{review_id}/resolve", status_code=204,
             summary="Confirm a revocation, or dismiss it (lifts the opt-out)")
def resolve(tenant_id: uuid.UUID, review_id: uuid.UUID, body: ResolveIn, app: AppDep,
            principal: PrincipalDep) -> Response:
    service.resolve_review(app, principal, tenant_id, review_id, revocation=body.revocation)
    return Response(status_code=204)


@router.get("/dnc", response_model=list[DncOut], summary="The do-not-call list")
def dnc_list(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> list[DncOut]:
    return [DncOut(id=e.id, phone=e.phone, source=e.source, added_at=e.added_at)
            for e in service.dnc_list(app, principal, tenant_id)]


@router.post("/dnc", status_code=204, summary="Add a number to the do-not-call list")
def dnc_add(tenant_id: uuid.UUID, body: PhoneIn, app: AppDep,
            principal: PrincipalDep) -> Response:
    service.dnc_add(app, principal, tenant_id, body.phone, source="api")
    return Response(status_code=204)


@router.post("/dnc/remove", status_code=204, summary="Take a number off the do-not-call list")
def dnc_remove(tenant_id: uuid.UUID, body: PhoneIn, app: AppDep,
               principal: PrincipalDep) -> Response:
    service.dnc_remove(app, principal, tenant_id, body.phone)
    return Response(status_code=204)


@router.post("/dnc/import", response_model=DncImportOut, status_code=201,
             summary="Import numbers (one a line, or CSV with a phone column): all or none")
def dnc_import(tenant_id: uuid.UUID, body: DncImportIn, app: AppDep,
               principal: PrincipalDep) -> DncImportOut:
    result = service.dnc_import(app, principal, tenant_id, body.content.encode("utf-8"),
                                source="api")
    return DncImportOut(added=result.added, already_listed=result.already_listed)
