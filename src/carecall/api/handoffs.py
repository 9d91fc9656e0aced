"""/api/v1/tenants/{tenant_id}/handoffs: the queue of calls the AI handed to a human, and
claiming, releasing, completing and reassigning them. No PHI in any answer: the claim
answers with the patient's id (when the caller was verified), which the patient endpoints
then serve to that user only while the assignment lasts. When the AI handed off before
verifying the caller, ``.../identify`` takes the identifiers the caller states to the human
and names the patient on the claim (the only request here that carries PHI, in its body)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from carecall.access.model import Assignment
from carecall.api.deps import AppDep, PrincipalDep, phi_limit
from carecall.api.errors import AUTHED, ErrorBody, errors
from carecall.calls.rules import Claims
from carecall.handoffs import service
from carecall.handoffs.model import HandoffItem, HandoffStatus
from carecall.patients.rules import normalise_phone
from carecall.tenants.model import Purpose

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/handoffs", tags=["handoffs"],
                   responses=errors(*AUTHED))

#: 409 codes: HANDOFF_CLAIMED (someone else holds the call), HANDOFF_DONE (completed),
#: HANDOFF_NOT_CLAIMED (release / complete of a call no one holds).
CONFLICTS = errors(409)


class AssignmentOut(BaseModel):
    id: uuid.UUID
    call_id: uuid.UUID
    agent_id: uuid.UUID
    patient_id: uuid.UUID | None
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class HeldOut(BaseModel):
    """Who holds a claimed call (no patient: the queue shows none)."""

    agent_id: uuid.UUID
    started_at: datetime
    expires_at: datetime


class HandoffOut(BaseModel):
    call_id: uuid.UUID
    reason: str
    at: datetime
    channel: str
    direction: str
    verified: bool
    status: HandoffStatus
    held: HeldOut | None


class ReassignIn(BaseModel):
    agent_id: uuid.UUID


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class IdentifyIn(BaseModel):
    """What the caller told the human: full name and date of birth, optionally phone, ZIP
    and street address; a billing identifier (last date of service or an invoice number)
    only when the call is about billing. PHI: never logged, stored or echoed."""

    model_config = ConfigDict(extra="forbid")

    full_name: _Text = Field(description="First and last name, as the caller says them.")
    dob: date
    phone: _Text | None = None
    zip: Annotated[str, StringConstraints(pattern=r"^\d{5}(-?\d{4})?$")] | None = None
    street: _Text | None = Field(None, description="Street line, e.g. '12 Elm Street'.")
    last_visit: date | None = Field(None, description="Billing: last date of service.")
    invoice: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=40)] | None = Field(
        None, description="Billing: one invoice number.")
    purpose: Purpose = Purpose.PATIENT_SUPPORT

    @field_validator("full_name")
    @classmethod
    def _full(cls, value: str) -> str:
        if len(value.split()) < 2:
            raise ValueError("first and last name")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and normalise_phone(value) is None:
            raise ValueError("not a phone number")
        return value

    def claims(self) -> Claims:
        return Claims(name=self.full_name, dob=self.dob, phone=self.phone, zip=self.zip,
                      street=self.street, last_visit=self.last_visit, invoice=self.invoice)


class IdentifiedOut(AssignmentOut):
    """The claim, now naming the patient; which identifiers matched (names, not values)."""

    identifiers: list[str]
    billing_verified: bool


#: 409: HANDOFF_NOT_CLAIMED, HANDOFF_DONE, HANDOFF_CLAIMED (another user's claim),
#: HANDOFF_CLAIM_EXPIRED (yours ran out), HANDOFF_IDENTIFIED (already names a patient).
#: 422: IDENTITY_NOT_CONFIRMED (no single patient matches; never says which detail),
#: IDENTIFIERS_MISSING, INVALID_INPUT. 423: IDENTIFY_LOCKED (3 failures on this call).
IDENTIFY_ERRORS: dict[int | str, dict[str, Any]] = {
    **CONFLICTS,
    422: {"model": ErrorBody, "description": "IDENTITY_NOT_CONFIRMED (the details do not "
          "identify one patient; which one was wrong is never said), IDENTIFIERS_MISSING, "
          "or INVALID_INPUT"},
    423: {"model": ErrorBody, "description": "IDENTIFY_LOCKED: three failed "
          "identifications on this call; no more attempts"},
}


def _assignment(a: Assignment) -> AssignmentOut:
    return AssignmentOut(id=a.id, call_id=a.call_id, agent_id=a.agent_id,
                         patient_id=a.patient_id, started_at=a.started_at,
                         expires_at=a.expires_at, ended_at=a.ended_at, end_reason=a.end_reason)


def _item(h: HandoffItem) -> HandoffOut:
    a = h.assignment
    held = None if a is None else HeldOut(agent_id=a.agent_id, started_at=a.started_at,
                                          expires_at=a.expires_at)
    return HandoffOut(call_id=h.call_id, reason=h.reason, at=h.at, channel=h.channel,
                      direction=h.direction, verified=h.verified, status=h.status, held=held)


@router.get("", response_model=list[HandoffOut], summary="The hand-off queue (no PHI)")
def queue(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep,
          status: Literal["waiting", "claimed", "done", "all"] = "waiting",
          ) -> list[HandoffOut]:
    """Handed-off calls, newest first: waiting (the default), claimed, done, or all."""
    wanted = None if status == "all" else HandoffStatus(status)
    return [_item(h) for h in service.queue(app, principal, tenant_id, wanted)]


@router.post("/{call_id}/claim", response_model=AssignmentOut, status_code=201,
             summary="Take a handed-off call", responses=CONFLICTS)
def claim(tenant_id: uuid.UUID, call_id: uuid.UUID, app: AppDep,
          principal: PrincipalDep) -> AssignmentOut:
    return _assignment(service.claim(app, principal, tenant_id, call_id))


@router.post("/{call_id}/release", response_model=AssignmentOut,
             summary="Give a call back to the queue", responses=CONFLICTS)
def release(tenant_id: uuid.UUID, call_id: uuid.UUID, app: AppDep,
            principal: PrincipalDep) -> AssignmentOut:
    return _assignment(service.release(app, principal, tenant_id, call_id))


@router.post("/{call_id}/complete", response_model=AssignmentOut,
             summary="Finish a call: out of the queue", responses=CONFLICTS)
def complete(tenant_id: uuid.UUID, call_id: uuid.UUID, app: AppDep,
             principal: PrincipalDep) -> AssignmentOut:
    return _assignment(service.release(app, principal, tenant_id, call_id, completed=True))


@router.post("/{call_id}/reassign", response_model=AssignmentOut, status_code=201,
             summary="Give a call to another user (supervisors)", responses=CONFLICTS)
def reassign(tenant_id: uuid.UUID, call_id: uuid.UUID, body: ReassignIn, app: AppDep,
             principal: PrincipalDep) -> AssignmentOut:
    return _assignment(service.reassign(app, principal, tenant_id, call_id, body.agent_id))


@router.post("/{call_id}/identify", response_model=IdentifiedOut,
             summary="Identify the caller of an unverified hand-off (claim holder)",
             responses=IDENTIFY_ERRORS, dependencies=[Depends(phi_limit)])
def identify(tenant_id: uuid.UUID, call_id: uuid.UUID, body: IdentifyIn, app: AppDep,
             principal: PrincipalDep) -> IdentifiedOut:
    """For the user holding the call's open claim, when the AI handed off before verifying
    the caller: the date of birth and one more identifier must match exactly one patient
    (the AI's rule; caller ID never counts). The claim then names that patient until it
    ends. Three failures per user and call lock identification on it."""
    done = service.identify(app, principal, tenant_id, call_id, body.claims(), body.purpose)
    out = _assignment(done.assignment)
    return IdentifiedOut(**out.model_dump(), identifiers=list(done.identifiers),
                         billing_verified=done.billing_verified)
