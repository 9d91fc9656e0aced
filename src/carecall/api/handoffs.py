"""/api/v1/tenants/{tenant_id}/handoffs: the queue of calls the AI handed to a human, and
claiming, releasing, completing and reassigning them. No PHI here: the claim answers with
the patient's id (when the caller was verified), which the patient endpoints then serve
to that user only while the assignment lasts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from carecall.access.model import Assignment
from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors
from carecall.handoffs import service
from carecall.handoffs.model import HandoffItem, HandoffStatus

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
