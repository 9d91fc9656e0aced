"""/api/v1/tenants/{tenant_id}/campaigns: outbound campaigns (no PHI in or out: patient ids,
counts and reason codes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from carecall.api.deps import AppDep, PrincipalDep
from carecall.api.errors import AUTHED, errors
from carecall.campaigns import attempts, service
from carecall.campaigns.model import (
    CampaignSpec,
    Channel,
    Outcome,
    RetryRule,
    TargetKind,
    TargetRule,
    Window,
)
from carecall.core.errors import InvalidInput
from carecall.tenants.model import Purpose

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/campaigns", tags=["campaigns"],
                   responses=errors(*AUTHED, 409))
# The API process receives Twilio's status callbacks: their outcomes go to the attempts.
attempts.subscribe()


class TargetsIn(BaseModel):
    kind: Literal["patients", "appointments_ahead"]
    patient_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200_000)
    hours_from: float = Field(default=24.0, ge=0, le=24 * 60)
    hours_to: float = Field(default=48.0, ge=0, le=24 * 60)


class RetryIn(BaseModel):
    max_attempts: int = Field(default=2, ge=1, le=5)
    delay_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    on: list[Outcome] = Field(default_factory=lambda: [Outcome.NO_ANSWER, Outcome.BUSY,
                                                       Outcome.FAILED])


class CampaignIn(BaseModel):
    purpose: Purpose
    channel: Channel
    template: str = Field(min_length=1, max_length=1000)
    targets: TargetsIn
    window_start: datetime | None = None
    window_end: datetime | None = None
    retry: RetryIn = Field(default_factory=RetryIn)
    label: str = Field(default="", max_length=80)
    max_duration_s: int = Field(default=60, ge=1, le=600)


class PlanOut(BaseModel):
    campaign: uuid.UUID
    targets: int
    allowed: int
    deferred: int
    denied: int
    by_reason: dict[str, int]
    seconds: float


class QueuedOut(BaseModel):
    attempts: int


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (e.g. 2026-12-01T13:00:00Z).")
    return value


def _spec(body: CampaignIn) -> CampaignSpec:
    t = body.targets
    return CampaignSpec(
        purpose=body.purpose, channel=body.channel, template=body.template,
        targets=TargetRule(TargetKind(t.kind), tuple(t.patient_ids), t.hours_from, t.hours_to),
        window=Window(_aware(body.window_start, "window_start"),
                      _aware(body.window_end, "window_end")),
        retry=RetryRule(body.retry.max_attempts, body.retry.delay_minutes,
                        frozenset(body.retry.on)),
        label=body.label, max_duration_s=body.max_duration_s)


@router.post("", status_code=201, summary="Create a draft campaign")
def create(tenant_id: uuid.UUID, body: CampaignIn, app: AppDep,
           principal: PrincipalDep) -> dict[str, Any]:
    campaign = service.create_campaign(app, principal, tenant_id, _spec(body))
    return service.campaign_document(campaign)


@router.get("", summary="The practice's campaigns")
def list_(tenant_id: uuid.UUID, app: AppDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [service.campaign_document(c)
            for c in service.list_campaigns(app, principal, tenant_id)]


@router.get("/{campaign_id}", summary="One campaign")
def read(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
         principal: PrincipalDep) -> dict[str, Any]:
    return service.campaign_document(
        service.get_campaign(app, principal, tenant_id, campaign_id))


@router.post("/{campaign_id}/plan", response_model=PlanOut,
             summary="Decide every target with the outbound policy")
def plan(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
         principal: PrincipalDep) -> PlanOut:
    s = service.plan_campaign(app, principal, tenant_id, campaign_id)
    return PlanOut(campaign=s.campaign_id, targets=s.targets, allowed=s.allowed,
                   deferred=s.deferred, denied=s.denied, by_reason=s.by_reason,
                   seconds=round(s.seconds, 3))


@router.post("/{campaign_id}/run", response_model=QueuedOut,
             summary="Queue an attempt for every allowed target (workers place them)")
def run(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
        principal: PrincipalDep) -> QueuedOut:
    return QueuedOut(attempts=service.run_campaign(app, principal, tenant_id, campaign_id))


@router.post("/{campaign_id}/pause", status_code=204, summary="Stop sending for now")
def pause(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
          principal: PrincipalDep) -> None:
    service.pause_campaign(app, principal, tenant_id, campaign_id)


@router.post("/{campaign_id}/resume", status_code=204, summary="Send again after a pause")
def resume(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
           principal: PrincipalDep) -> None:
    service.resume_campaign(app, principal, tenant_id, campaign_id)


@router.post("/{campaign_id}/cancel", response_model=QueuedOut,
             summary="Stop for good; queued attempts are dropped")
def cancel(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
           principal: PrincipalDep) -> QueuedOut:
    return QueuedOut(attempts=service.cancel_campaign(app, principal, tenant_id, campaign_id))


@router.get("/{campaign_id}/report", summary="Progress, outcomes and reasons (counts only)")
def report(tenant_id: uuid.UUID, campaign_id: uuid.UUID, app: AppDep,
           principal: PrincipalDep) -> dict[str, Any]:
    return service.report_document(service.report(app, principal, tenant_id, campaign_id))
