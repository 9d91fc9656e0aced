"""/api/v1/tenants/{tenant_id}/calls: the call simulator for the console (QA and demos)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from carecall.api.deps import AppDep, PrincipalDep, phi_limit
from carecall.api.errors import AUTHED, errors
from carecall.calls import service
from carecall.calls.model import CallerInput, Step

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/calls", tags=["calls"],
                   dependencies=[Depends(phi_limit)], responses=errors(*AUTHED, 404, 422))


class SimulateIn(BaseModel):
    from_number: str = Field(default="+16175550142", min_length=1, max_length=30)


class TurnIn(BaseModel):
    kind: Literal["speech", "dtmf", "silence", "voicemail"] = "speech"
    text: str = Field(default="", max_length=2000)
    digits: str = Field(default="", max_length=20, pattern=r"^[0-9*#]*$")
    confidence: float | None = Field(default=None, ge=0, le=1)


class EventOut(BaseModel):
    event: str
    fields: dict[str, Any]


class StepOut(BaseModel):
    call: str
    say: str
    actions: list[str]
    events: list[EventOut]
    outcome: str | None


def _out(ref: str, step: Step) -> StepOut:
    return StepOut(call=ref, say=step.say, actions=[a.kind for a in step.actions],
                   events=[EventOut(event=e.kind, fields=e.fields) for e in step.events],
                   outcome=step.outcome)


@router.post("", status_code=201)
def simulate(tenant_id: str, body: SimulateIn, app: AppDep,
             principal: PrincipalDep) -> StepOut:
    """Start a simulated inbound call; the reply holds the agent's opening."""
    ref, step = service.start_simulated_call(app, principal, tenant_id,
                                             from_number=body.from_number)
    return _out(ref, step)


@router.post("/{call_id}/turns")
def turn(tenant_id: str, call_id: str, body: TurnIn, app: AppDep,
         principal: PrincipalDep) -> StepOut:
    """Say something (or press keys, or stay silent) on a simulated call."""
    given = CallerInput(body.kind, text=body.text, digits=body.digits,
                        confidence=body.confidence)
    return _out(call_id, service.simulated_turn(app, principal, tenant_id, call_id, given))
