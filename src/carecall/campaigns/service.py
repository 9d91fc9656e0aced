"""Campaign use cases: create, plan, run, pause, resume, cancel, report.

Each takes the acting principal, checks the permission and the tenant, works in units of work
and writes its audit entries (ids, counts and codes only) in the same unit. Planning decides
every target with the outbound policy and stores the decision and its reasons; running turns
allowed targets into queued attempts, which the job engine's workers pick up
(``campaigns.jobs``). The policy is asked again for every attempt at dial time.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from carecall.access.guard import authorize, ensure_tenant
from carecall.access.model import Principal
from carecall.access.rules import Action
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.campaigns import facts, rules
from carecall.campaigns.model import (
    AttemptStatus,
    Campaign,
    CampaignSpec,
    CampaignState,
    Channel,
    PlanSummary,
    Report,
    TargetKind,
    TargetState,
)
from carecall.campaigns.rules import CampaignAction
from carecall.campaigns.store import CampaignStore
from carecall.core.errors import Conflict, InvalidInput, NotFound
from carecall.core.ids import new_id, parse_id
from carecall.tenants.model import Tenant
from carecall.tenants.service import load_tenant

SYSTEM = facts.SYSTEM
BATCH = 1000
#: Batches a plan reads ahead of the one it decides, each in its own thread (0: read and
#: decide in turn in this thread). On the 2-core VM, 100,000 targets: 49-53 s with 2,
#: 51-67 s with 0 (docs/performance.md).
READ_AHEAD = 2
Progress = Callable[[int, int], None]

_MESSAGES = {
    rules.CampaignReason.NOT_PLANNED: "Plan the campaign first ('campaigns plan').",
    rules.CampaignReason.NOT_RUNNING: "The campaign is not running.",
    rules.CampaignReason.NOT_PAUSED: "The campaign is not paused.",
    rules.CampaignReason.FINISHED: "The campaign is cancelled or completed; create a new one.",
    rules.CampaignReason.ALREADY_RUNNING: "The campaign is already running.",
}


def _tenant(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
            action: Action) -> Tenant:
    authorize(app, principal, action, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    return tenant


def _audit(app: Carecall, session: Any, principal: Principal, tenant: Tenant, action: str,
           campaign: uuid.UUID, **details: DetailValue) -> None:
    append(
        session,
        AuditEvent(
            actor=principal.actor,
            action=action,
            resource_type="campaign",
            resource_id=str(campaign),
            tenant_id=tenant.id,
            details=details,
        ),
        app.clock,
    )


def _load(store: CampaignStore, campaign_id: uuid.UUID, *, lock: bool = False) -> Campaign:
    campaign = store.get(campaign_id, lock=lock)
    if campaign is None:
        raise NotFound("No campaign with that id.")
    return campaign


def _check(campaign: Campaign, action: CampaignAction) -> None:
    decision = rules.transition(campaign.state, action)
    if not decision:
        raise Conflict(_MESSAGES[decision.reasons[0]], code=decision.codes[0])  # type: ignore[index]


def campaign_id(text: str) -> uuid.UUID:
    return parse_id(text, "campaign")


# -- create, read --------------------------------------------------------------------------


def create_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                    spec: CampaignSpec) -> Campaign:
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_WRITE)
    problems = rules.spec_problems(spec)
    if problems:
        raise InvalidInput(" ".join(problems))
    if spec.channel is not Channel.SMS and not tenant.phone_numbers:
        raise InvalidInput("The practice has no phone number to call from; add one first.")
    campaign = Campaign(
        id=new_id(),
        tenant_id=tenant.id,
        spec=replace(spec, label=spec.label.strip()),
        state=CampaignState.DRAFT,
        created_by=principal.actor,
        created_at=app.clock.now(),
    )
    with app.db.transaction() as session:
        CampaignStore(session, tenant.id).insert(campaign)
        _audit(app, session, principal, tenant, "campaign.create", campaign.id,
               purpose=str(spec.purpose), channel=str(spec.channel),
               targets=str(spec.targets.kind))
    return campaign


def get_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                 campaign: uuid.UUID) -> Campaign:
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_READ)
    with app.db.transaction() as session:
        return _load(CampaignStore(session, tenant.id), campaign)


def list_campaigns(app: Carecall, principal: Principal,
                   tenant_ref: str | uuid.UUID) -> list[Campaign]:
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_READ)
    with app.db.transaction() as session:
        return CampaignStore(session, tenant.id).all()


# -- plan ----------------------------------------------------------------------------------


def plan_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                  campaign_ref: uuid.UUID, progress: Progress | None = None) -> PlanSummary:
    """Decide every target with the outbound policy and store the decisions.

    Targets are written a thousand per unit of work; the campaign becomes ``planned`` only
    in the last one, so an interrupted plan leaves a draft that a new plan starts afresh.
    """
    started = time.perf_counter()
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_WRITE)
    with app.db.transaction() as session:
        campaign = _load(CampaignStore(session, tenant.id), campaign_ref)
    _check(campaign, CampaignAction.PLAN)
    now = app.clock.now()
    targets = facts.resolve_targets(app, SYSTEM, tenant, campaign.spec, now)
    with app.db.transaction() as session:
        CampaignStore(session, tenant.id).clear_targets(campaign.id)
    total, allowed, deferred = len(targets), 0, 0
    by_reason: dict[str, int] = {}
    if progress:
        progress(0, total)
    planner = facts.Planner(app, SYSTEM, tenant, campaign)
    planner.prepare(now)
    batches = [targets[start:start + BATCH] for start in range(0, total, BATCH)]
    # Reader threads read the next READ_AHEAD batches (queries, decryption, audit) while
    # this one decides and stores the current one: the database's time and the driver's
    # waits overlap the policy's (psycopg releases the GIL while it waits).
    # With READ_AHEAD 0 everything happens in this thread, one batch after the other.
    with ThreadPoolExecutor(max_workers=max(1, READ_AHEAD),
                            thread_name_prefix="plan-read") as reader:
        ahead = deque(reader.submit(planner.read_batch, b, now) for b in batches[:READ_AHEAD])
        try:
            for number, batch in enumerate(batches):
                read = ahead.popleft().result() if ahead else planner.read_batch(batch, now)
                if READ_AHEAD and number + READ_AHEAD < len(batches):
                    ahead.append(reader.submit(planner.read_batch,
                                               batches[number + READ_AHEAD], now))
                rows = planner.decide_read(batch, read, now)
                with app.db.transaction() as session:
                    CampaignStore(session, tenant.id).add_targets(rows)
                for row in rows:
                    if row["state"] == TargetState.ALLOWED:
                        allowed += 1
                        deferred += 1 if row["reasons"] else 0
                    for code in row["reasons"].split(",") if row["reasons"] else ():
                        by_reason[code] = by_reason.get(code, 0) + 1
                if progress:
                    progress(min((number + 1) * BATCH, total), total)
        finally:
            for pending in ahead:  # a failed batch stops the plan: read nothing more
                pending.cancel()
    ordered = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        current = _load(store, campaign.id, lock=True)
        _check(current, CampaignAction.PLAN)
        store.set_state(campaign.id, CampaignState.PLANNED, planned_at=app.clock.now())
        _audit(app, session, principal, tenant, "campaign.plan", campaign.id,
               targets=total, allowed=allowed, deferred=deferred, denied=total - allowed,
               reasons=[f"{k}={v}" for k, v in ordered.items()])
    return PlanSummary(campaign.id, total, allowed, total - allowed, ordered,
                       time.perf_counter() - started, deferred)


# -- run, pause, resume, cancel ------------------------------------------------------------


def run_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                 campaign_ref: uuid.UUID) -> int:
    """Queue a first attempt for every allowed target; returns how many. Workers hand them
    to the job engine (``campaigns.jobs.sweep``), which checks each again at dial time."""
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_WRITE)
    now = app.clock.now()
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        campaign = _load(store, campaign_ref, lock=True)
        _check(campaign, CampaignAction.RUN)
        spec = campaign.spec
        first = Channel.SMS if spec.channel is Channel.SMS else Channel.VOICE
        not_before = max(now, spec.window.start) if spec.window.start else now
        targets = store.targets(campaign.id, TargetState.ALLOWED)
        store.add_attempts([
            {
                "id": new_id(), "campaign_id": campaign.id, "target_id": t.id,
                "tenant_id": tenant.id, "number": 1, "channel": str(first),
                "status": str(AttemptStatus.QUEUED),
                "not_before": max(not_before, t.retry_after or not_before),
                "reasons": "", "reconciled": False, "generation": 0, "enqueued": False,
                "created_at": now,
            }
            for t in targets
        ])
        store.set_targets_state(campaign.id, TargetState.ALLOWED, TargetState.IN_PROGRESS,
                                attempts=1)
        store.set_state(campaign.id, CampaignState.RUNNING, started_at=now)
        _audit(app, session, principal, tenant, "campaign.run", campaign.id,
               attempts=len(targets))
    return len(targets)


def pause_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                   campaign_ref: uuid.UUID) -> None:
    """Stop sending: queued attempts wait (calls already ringing finish)."""
    _move(app, principal, tenant_ref, campaign_ref, CampaignAction.PAUSE)


def resume_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                    campaign_ref: uuid.UUID) -> None:
    _move(app, principal, tenant_ref, campaign_ref, CampaignAction.RESUME)


def cancel_campaign(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                    campaign_ref: uuid.UUID) -> int:
    """Cancel: nothing more goes out; queued attempts are dropped now (returns how many)."""
    return _move(app, principal, tenant_ref, campaign_ref, CampaignAction.CANCEL)


def _move(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
          campaign_ref: uuid.UUID, action: CampaignAction) -> int:
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_WRITE)
    now = app.clock.now()
    dropped = 0
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        campaign = _load(store, campaign_ref, lock=True)
        _check(campaign, action)
        state = rules.next_state(action)
        stamps = {"finished_at": now} if state is CampaignState.CANCELLED else {}
        if action is CampaignAction.RESUME:
            # Attempts a paused worker put back get handed to the engine again.
            for attempt in store.attempts(campaign.id, [AttemptStatus.QUEUED]):
                store.claim_attempt(attempt.id, AttemptStatus.QUEUED, AttemptStatus.QUEUED,
                                    enqueued=False, generation=attempt.generation + 1)
        if state is CampaignState.CANCELLED:
            dropped = drop_queued(store, campaign.id, now)
        store.set_state(campaign.id, state, **stamps)
        _audit(app, session, principal, tenant, f"campaign.{action}", campaign.id,
               dropped=dropped)
    return dropped


def drop_queued(store: CampaignStore, campaign: uuid.UUID, now: Any) -> int:
    """Cancel every queued attempt and settle the targets left without work."""
    dropped = 0
    for attempt in store.attempts(campaign, [AttemptStatus.QUEUED]):
        if store.claim_attempt(attempt.id, AttemptStatus.QUEUED, AttemptStatus.CANCELLED,
                               finished_at=now):
            store.update_target(attempt.target_id, state=str(TargetState.SKIPPED))
            dropped += 1
    store.set_targets_state(campaign, TargetState.ALLOWED, TargetState.SKIPPED)
    return dropped


# -- report --------------------------------------------------------------------------------


def report(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
           campaign_ref: uuid.UUID) -> Report:
    """Counts by target state, attempt status, outcome and reason; no PHI."""
    tenant = _tenant(app, principal, tenant_ref, Action.CAMPAIGNS_READ)
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        campaign = _load(store, campaign_ref)
        by_target = store.count_targets(campaign.id)
        by_attempt = store.count_attempts(campaign.id)
        placed, reconciled = store.placed_and_reconciled(campaign.id)
        result = Report(
            campaign_id=campaign.id,
            state=campaign.state,
            purpose=campaign.spec.purpose,
            channel=campaign.spec.channel,
            targets=sum(by_target.values()),
            by_target_state=by_target,
            by_attempt_status=by_attempt,
            by_outcome=store.count_outcomes(campaign.id),
            plan_reasons=store.reason_counts(campaign.id),
            dial_reasons=store.dial_reason_counts(campaign.id),
            attempts=sum(by_attempt.values()),
            calls_placed=placed,
            reconciled=reconciled,
        )
        _audit(app, session, principal, tenant, "campaign.report", campaign.id)
    return result


def report_document(r: Report) -> dict[str, Any]:
    return {
        "campaign": str(r.campaign_id),
        "state": str(r.state),
        "purpose": str(r.purpose),
        "channel": str(r.channel),
        "targets": r.targets,
        "by_target_state": r.by_target_state,
        "attempts": r.attempts,
        "by_attempt_status": r.by_attempt_status,
        "by_outcome": r.by_outcome,
        "plan_reasons": r.plan_reasons,
        "dial_reasons": r.dial_reasons,
        "contacts_placed": r.calls_placed,
        "reconciled_after_crash": r.reconciled,
    }


def campaign_document(c: Campaign) -> dict[str, Any]:
    spec = c.spec
    return {
        "id": str(c.id),
        "label": spec.label,
        "state": str(c.state),
        "purpose": str(spec.purpose),
        "channel": str(spec.channel),
        "template": spec.template,
        "targets": {
            "kind": str(spec.targets.kind),
            "patient_ids": [str(p) for p in spec.targets.patient_ids],
            "hours_from": spec.targets.hours_from if spec.targets.kind
            is TargetKind.APPOINTMENTS_AHEAD else None,
            "hours_to": spec.targets.hours_to if spec.targets.kind
            is TargetKind.APPOINTMENTS_AHEAD else None,
        },
        "window": {
            "start": spec.window.start.isoformat() if spec.window.start else None,
            "end": spec.window.end.isoformat() if spec.window.end else None,
        },
        "retry": {
            "max_attempts": spec.retry.max_attempts,
            "delay_minutes": spec.retry.delay_minutes,
            "on": sorted(str(o) for o in spec.retry.on),
        },
        "created_at": c.created_at.isoformat(),
        "planned_at": c.planned_at.isoformat() if c.planned_at else None,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "finished_at": c.finished_at.isoformat() if c.finished_at else None,
    }

