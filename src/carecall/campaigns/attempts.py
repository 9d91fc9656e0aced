"""One attempt, step by step: check again at dial time, place, learn the outcome, finish.

Each function is a job step (``campaigns.jobs``): it takes ids, may run more than once, and
changes nothing the second time. The attempt row is the idempotency record of the provider
request: it becomes ``dialing`` (committed) before Twilio is asked, so a worker that dies
after asking leaves ``dialing`` behind, and the step that runs again looks the contact up on
Twilio's call list before it could ever dial a second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.campaigns import facts, rules
from carecall.campaigns.model import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignState,
    Channel,
    Outcome,
    Target,
    TargetState,
)
from carecall.campaigns.store import (
    CampaignStore,
    campaign_attempts,
    tenant_of_attempt,
)
from carecall.core.errors import CarecallError, PolicyRefused
from carecall.core.ids import new_id
from carecall.crypto.blind_index import blind_index
from carecall.tenants.model import Tenant
from carecall.tenants.service import load_tenant

SYSTEM_ACTOR = "system:campaigns"
#: How far before the idempotency record a call found on Twilio's list may have started
#: (clock skew between carecall and Twilio).
RECONCILE_SKEW = timedelta(minutes=2)
WINDOW_CLOSED = "WINDOW_CLOSED"
NO_PHONE = facts.NO_PHONE
Q, D, P = AttemptStatus.QUEUED, AttemptStatus.DIALING, AttemptStatus.PLACED


def _audit(app: Carecall, session: Session, tenant_id: uuid.UUID, action: str,
           attempt: Attempt, **details: DetailValue) -> None:
    append(session, AuditEvent(
        actor=SYSTEM_ACTOR, action=action, resource_type="campaign_attempt",
        resource_id=str(attempt.id), tenant_id=tenant_id,
        details={"campaign": str(attempt.campaign_id), "attempt": attempt.number,
                 "channel": str(attempt.channel), **details}), app.clock)


def _context(app: Carecall, attempt_id: uuid.UUID) -> Tenant | None:
    with app.db.transaction() as session:
        tenant_id = tenant_of_attempt(session, attempt_id)
        return None if tenant_id is None else load_tenant(session, tenant_id)


def _load(store: CampaignStore, attempt_id: uuid.UUID) -> tuple[Attempt, Campaign, Target]:
    attempt = store.attempt(attempt_id, lock=True)
    assert attempt is not None
    campaign = store.get(attempt.campaign_id)
    target = store.target(attempt.target_id)
    assert campaign is not None
    assert target is not None
    return attempt, campaign, target


def _settle_target(store: CampaignStore, target: Target, state: TargetState,
                   outcome: Outcome | None = None) -> None:
    store.update_target(target.id, state=str(state),
                        outcome=str(outcome) if outcome else target.outcome)


# -- dial --------------------------------------------------------------------------------------


def dial(app: Carecall, attempt_id: uuid.UUID, generation: int) -> str:  # noqa: PLR0911
    """Place the attempt's call or text if the policy allows it now; returns the provider's
    sid, or "" when nothing went out (denied, paused, cancelled, stale job)."""
    tenant = _context(app, attempt_id)
    if tenant is None:
        return ""
    now = app.clock.now()
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        attempt, campaign, target = _load(store, attempt_id)
        if attempt.generation != generation:
            return ""
        if attempt.status is P:
            return attempt.provider_sid or ""
        if attempt.status not in (Q, D):
            return ""
        if attempt.status is Q and not _may_start(app, session, store, attempt, campaign,
                                                  target, now):
            return ""
    if attempt.status is D:
        found = _reconcile(app, tenant, attempt, target)
        if found:
            return found
    return _check_and_send(app, tenant, attempt, campaign, target)


def _may_start(app: Carecall, session: Session, store: CampaignStore, attempt: Attempt,
               campaign: Campaign, target: Target, now: datetime) -> bool:
    if campaign.state is CampaignState.PAUSED:
        # Back in the queue under a new job id; a resume hands it over again.
        store.claim_attempt(attempt.id, Q, Q, generation=attempt.generation + 1, enqueued=False)
        return False
    if campaign.state is not CampaignState.RUNNING:
        store.claim_attempt(attempt.id, Q, AttemptStatus.CANCELLED, finished_at=now)
        _settle_target(store, target, TargetState.SKIPPED)
        return False
    if not rules.in_window(campaign.spec.window, now):
        store.claim_attempt(attempt.id, Q, AttemptStatus.CANCELLED, finished_at=now,
                            reasons=WINDOW_CLOSED)
        _settle_target(store, target, TargetState.SKIPPED)
        _audit(app, session, campaign.tenant_id, "campaign.attempt.expired", attempt)
        return False
    return True


def _check_and_send(app: Carecall, tenant: Tenant, attempt: Attempt, campaign: Campaign,
                    target: Target) -> str:
    now = app.clock.now()
    planner = facts.Planner(app, facts.SYSTEM, tenant, campaign)
    phone, reasons, retry_after = _decide(planner, attempt, target, now)
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        current, campaign, target = _load(store, attempt.id)
        if current.status not in (Q, D) or current.generation != attempt.generation:
            return current.provider_sid or ""
        if reasons:
            _deny(app, session, store, current, campaign, target, reasons, retry_after)
            return ""
        if campaign.state is not CampaignState.RUNNING:
            if campaign.state is CampaignState.PAUSED:
                store.claim_attempt(current.id, current.status, Q, enqueued=False,
                                    generation=current.generation + 1)
            else:
                store.claim_attempt(current.id, current.status, AttemptStatus.CANCELLED,
                                    finished_at=now)
                _settle_target(store, target, TargetState.SKIPPED)
            return ""
        # The idempotency record, committed before the provider is asked.
        store.claim_attempt(current.id, current.status, D, dial_started_at=now)
        _audit(app, session, tenant.id, "campaign.attempt.dial", current)
    assert phone is not None
    sid = _send(app, tenant, campaign, attempt, target, phone)
    _placed(app, tenant, attempt.id, sid, reconciled=False)
    return sid


def _decide(planner: facts.Planner, attempt: Attempt, target: Target,
            now: datetime) -> tuple[str | None, tuple[str, ...], datetime | None]:
    """(number, reasons, retry_after): reasons empty means allowed."""
    try:
        found = planner.details([target.patient_id])
    except PolicyRefused as exc:  # no BAA in force any more: nothing may be read or sent
        return None, exc.reasons, None
    details = found.get(target.patient_id)
    if details is None:
        return None, (facts.PATIENT_UNAVAILABLE,), None
    if target.phone_slot >= len(details.phones):
        return None, (NO_PHONE,), None
    phone = details.phones[target.phone_slot]
    appointment_at = _appointment_at(planner, target)
    decision = planner.decide_one(details, phone, attempt.channel, appointment_at, now)
    return phone, decision.codes, decision.retry_after


def _appointment_at(planner: facts.Planner, target: Target) -> datetime | None:
    if target.appointment_id is None:
        return None
    from carecall.patients import service as patients

    slots = patients.appointment_slots(planner.app, planner.principal, planner.tenant.id,
                                       [target.appointment_id], planner.campaign.spec.purpose)
    return slots[0].start if slots else None


def _deny(app: Carecall, session: Session, store: CampaignStore, attempt: Attempt,
          campaign: Campaign, target: Target, reasons: tuple[str, ...],
          retry_after: datetime | None) -> None:
    now = app.clock.now()
    again = rules.requeue_at(retry_after, campaign.spec.window)
    if again is not None and campaign.state is CampaignState.RUNNING:
        store.claim_attempt(attempt.id, attempt.status, Q, not_before=again, enqueued=False,
                            generation=attempt.generation + 1, reasons=",".join(reasons))
        _audit(app, session, campaign.tenant_id, "campaign.attempt.deferred", attempt,
               reasons=list(reasons))
        return
    store.claim_attempt(attempt.id, attempt.status, AttemptStatus.DENIED, finished_at=now,
                        reasons=",".join(reasons))
    _settle_target(store, target, TargetState.SKIPPED)
    _audit(app, session, campaign.tenant_id, "campaign.attempt.denied", attempt,
           reasons=list(reasons))


def _send(app: Carecall, tenant: Tenant, campaign: Campaign, attempt: Attempt,
          target: Target, phone: str) -> str:
    from carecall.campaigns import provider

    if attempt.channel is Channel.SMS:
        text = facts.message_for(campaign, tenant, Channel.SMS,
                                 _appointment_at(facts.Planner(app, facts.SYSTEM, tenant,
                                                               campaign), target)).text
        return provider.send_text(app, tenant=tenant, to=phone, body=text)
    return provider.place_call(app, tenant=tenant, to=phone, patient_id=target.patient_id,
                               purpose=str(campaign.spec.purpose),
                               appointment_id=target.appointment_id)


def _reconcile(app: Carecall, tenant: Tenant, attempt: Attempt, target: Target) -> str:
    """A previous run wrote the idempotency record and may have reached Twilio: look for the
    contact on Twilio's list (to this number, since just before the record, not already
    claimed by another attempt) and adopt it instead of dialling again."""
    from carecall.campaigns import provider

    assert attempt.dial_started_at is not None
    details = facts.Planner(app, facts.SYSTEM, tenant, _campaign(app, tenant, attempt)).details(
        [target.patient_id]).get(target.patient_id)
    if details is None or target.phone_slot >= len(details.phones):
        return ""
    phone = details.phones[target.phone_slot]
    since = attempt.dial_started_at - RECONCILE_SKEW
    sids = provider.find(app, channel=attempt.channel, to=phone, since=since)
    with app.db.transaction() as session:
        taken = {row[0] for row in session.execute(
            campaign_attempts.select().with_only_columns(campaign_attempts.c.provider_sid)
            .where(campaign_attempts.c.provider_sid.in_(sids))).all()} if sids else set()
    fresh = [sid for sid in sids if sid not in taken]
    if not fresh:
        return ""
    _placed(app, tenant, attempt.id, fresh[0], reconciled=True)
    return fresh[0]


def _campaign(app: Carecall, tenant: Tenant, attempt: Attempt) -> Campaign:
    with app.db.transaction() as session:
        campaign = CampaignStore(session, tenant.id).get(attempt.campaign_id)
    assert campaign is not None
    return campaign


def _placed(app: Carecall, tenant: Tenant, attempt_id: uuid.UUID, sid: str, *,
            reconciled: bool) -> None:
    from carecall.consent.service import record_contact_in
    from carecall.policy import Channel as PolicyChannel

    now = app.clock.now()
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        attempt, campaign, target = _load(store, attempt_id)
        if not store.claim_attempt(attempt_id, D, P, provider_sid=sid, placed_at=now,
                                   reconciled=reconciled):
            return
        record_contact_in(
            session, app, facts.SYSTEM, tenant.id, patient_id=target.patient_id,
            channel=PolicyChannel.SMS if attempt.channel is Channel.SMS else PolicyChannel.VOICE,
            purpose=str(campaign.spec.purpose), outcome="placed", at=now, automated=True,
            provider_sid=sid, ref=str(attempt_id))
        _audit(app, session, tenant.id, "campaign.attempt.placed", attempt,
               reconciled=reconciled)


def give_up(app: Carecall, attempt_id: uuid.UUID) -> None:
    """The dial step failed for good (Twilio unreachable): reconcile once more, else record
    the error; the target is settled either way so the campaign can finish."""
    tenant = _context(app, attempt_id)
    if tenant is None:
        return
    with app.db.transaction() as session:
        attempt, _, target = _load(CampaignStore(session, tenant.id), attempt_id)
    if attempt.status is D:
        try:
            if _reconcile(app, tenant, attempt, target):
                return
        except CarecallError:
            pass
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        attempt, _, target = _load(store, attempt_id)
        if store.claim_attempt(attempt_id, attempt.status, AttemptStatus.ERROR,
                               finished_at=app.clock.now()) and attempt.status in (Q, D):
            _settle_target(store, target, TargetState.SKIPPED)
            _audit(app, session, tenant.id, "campaign.attempt.error", attempt)


# -- outcome -----------------------------------------------------------------------------------


def poll(app: Carecall, attempt_id: uuid.UUID, last: bool) -> str:
    """The attempt's outcome if known (a webhook recorded it, or the provider reports a final
    status); on the ``last`` look, whatever the status says now."""
    from carecall.campaigns import provider

    tenant = _context(app, attempt_id)
    if tenant is None:
        return str(Outcome.FAILED)
    with app.db.transaction() as session:
        attempt = CampaignStore(session, tenant.id).attempt(attempt_id)
    assert attempt is not None
    if attempt.outcome is not None:
        return str(attempt.outcome)
    if attempt.provider_sid is None:
        return str(Outcome.FAILED)
    status, answered_by = provider.status(app, channel=attempt.channel,
                                          sid=attempt.provider_sid)
    outcome = rules.outcome_from_status(status, answered_by)
    if outcome is None and attempt.channel is Channel.SMS and status != "failed":
        # Twilio has taken the text; a delivery receipt, if one comes, refines it.
        outcome = Outcome.SENT
    if outcome is None and last:
        outcome = Outcome.ANSWERED if status == "in-progress" else Outcome.NO_ANSWER
    return str(outcome) if outcome else ""


def record_outcome(app: Carecall, sid: str, outcome: Outcome) -> bool:
    """A webhook (call status, message status) names the outcome of a placed attempt; the
    attempt's job picks it up on its next look. See ``record_outcome_in``."""
    with app.db.transaction() as session:
        return record_outcome_in(session, app, sid, outcome)


def record_outcome_in(session: Session, app: Carecall, sid: str, outcome: Outcome) -> bool:
    """The outcome of the attempt that placed ``sid``, its contact history row and (for a
    finished attempt that is its target's last) the target's outcome, in the caller's unit
    of work. Idempotent and order-proof: an outcome only replaces one it outranks
    (``consent.rules.OUTCOME_RANK``), so a repeated or late callback changes nothing.
    A finished attempt still takes a later, better-informed outcome (a delivery receipt
    after the text was taken as sent, an opt-out after the call was finished); follow-ups
    were decided at finish time and are not revisited. False when nothing changed."""
    from carecall.campaigns.store import tenant_of_sid
    from carecall.consent.rules import outranks
    from carecall.consent.service import set_contact_outcome_in

    tenant_id = tenant_of_sid(session, sid)
    if tenant_id is None:
        return False
    store = CampaignStore(session, tenant_id)
    attempt = store.by_provider_sid(sid, lock=True)
    if attempt is None or attempt.status not in (P, AttemptStatus.FINISHED):
        return False
    current = str(attempt.outcome) if attempt.outcome is not None else None
    if not outranks(str(outcome), current) or not store.set_outcome(attempt, outcome):
        return False
    if attempt.status is AttemptStatus.FINISHED and store.is_latest_attempt(attempt):
        store.update_target(attempt.target_id, outcome=str(outcome))
    set_contact_outcome_in(session, app, facts.SYSTEM, sid, str(outcome))
    _audit(app, session, tenant_id, "campaign.attempt.outcome_update", attempt,
           outcome=str(outcome), previous=current or "none")
    return True


def finish(app: Carecall, attempt_id: uuid.UUID, outcome_code: str) -> None:
    """Record the outcome in the attempt, the contact history and the target, and queue a
    retry or the SMS fallback when the campaign's rules ask for one."""
    from carecall.consent.rules import outranks
    from carecall.consent.service import set_contact_outcome_in

    outcome = Outcome(outcome_code)
    tenant = _context(app, attempt_id)
    if tenant is None:
        return
    now = app.clock.now()
    with app.db.transaction() as session:
        store = CampaignStore(session, tenant.id)
        attempt, campaign, target = _load(store, attempt_id)
        if attempt.outcome is not None and not outranks(str(outcome), str(attempt.outcome)):
            outcome = attempt.outcome  # a callback since the last look said more
        if not store.claim_attempt(attempt_id, P, AttemptStatus.FINISHED, finished_at=now,
                                   outcome=str(outcome)):
            return
        follow = _follow_up(campaign, attempt, target, outcome, now)
        if follow is None:
            _settle_target(store, target, TargetState.DONE, outcome)
        else:
            channel, when = follow
            store.add_attempts([_new_attempt(tenant.id, attempt, target, channel, when, now)])
            store.update_target(target.id, attempts=target.attempts + 1, outcome=str(outcome))
        if attempt.provider_sid:
            set_contact_outcome_in(session, app, facts.SYSTEM, attempt.provider_sid,
                                   str(outcome))
        _audit(app, session, tenant.id, "campaign.attempt.outcome", attempt,
               outcome=str(outcome), follow_up=follow is not None)


def _follow_up(campaign: Campaign, attempt: Attempt, target: Target, outcome: Outcome,
               now: datetime) -> tuple[Channel, datetime] | None:
    if campaign.state in (CampaignState.CANCELLED, CampaignState.COMPLETED):
        return None
    spec = campaign.spec
    if attempt.channel is Channel.VOICE and rules.fallback_to_sms(spec.channel, outcome):
        return Channel.SMS, now
    when = rules.retry_at(outcome, target.attempts, spec.retry, now, spec.window)
    return None if when is None else (attempt.channel, when)


def _new_attempt(tenant_id: uuid.UUID, attempt: Attempt, target: Target, channel: Channel,
                 when: datetime, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(), "campaign_id": attempt.campaign_id, "target_id": target.id,
        "tenant_id": tenant_id, "number": target.attempts + 1,
        "channel": str(channel), "status": str(Q), "not_before": when, "reasons": "",
        "reconciled": False, "generation": 0, "enqueued": False, "created_at": now,
    }



def on_call_ended(app: Carecall, event: Any) -> None:
    """``channels.voice`` end listener: a final call status from Twilio's status callback
    becomes the attempt's outcome without waiting for the job's next look."""
    outcome = rules.outcome_from_status(str(event.status), event.answered_by)
    sid = getattr(event.leg, "call_sid", None)
    if outcome is not None and sid:
        record_outcome(app, sid, outcome)


#: What the call agent's events on a campaign call mean for its attempt.
_CALL_EVENTS: dict[str, Outcome] = {"appointment_confirmed": Outcome.CONFIRMED,
                                    "opt_out": Outcome.OPTED_OUT}
#: How long after a campaign text a STOP from its number counts against that text.
STOP_AFTER_TEXT = timedelta(days=7)


def on_call_turn(session: Session, app: Carecall, channel_ref: str,
                 events: Sequence[Any]) -> None:
    """``calls.service`` turn listener, inside the turn's unit of work: the patient
    confirmed the appointment, or opted out (by voice or key 9), on a call a campaign
    placed (``channel_ref`` is Twilio's CallSid, the attempt's provider sid)."""
    for event in events:
        outcome = _CALL_EVENTS.get(str(getattr(event, "kind", "")))
        if outcome is not None:
            record_outcome_in(session, app, channel_ref, outcome)


def on_text_status(session: Session, app: Carecall, message_sid: str, status: str) -> None:
    """``channels.sms`` status listener, in the callback's unit of work: a delivery receipt
    for a campaign text."""
    outcome = rules.outcome_from_text_status(status)
    if outcome is not None:
        record_outcome_in(session, app, message_sid, outcome)


def on_text_opt_out(session: Session, app: Carecall, tenant_id: uuid.UUID,
                    number: str) -> None:
    """``channels.sms`` opt-out listener, in the unit of work that records the opt-out: a
    STOP (or any revocation) from a number a campaign texted in the last
    ``STOP_AFTER_TEXT`` makes that text's outcome ``opted_out``."""
    tags = [format(blind_index(key, number, facts.TAG_BITS), "x")
            for key in app.keyring.index_keys(session, tenant_id, "campaign_number")]
    since = app.clock.now() - STOP_AFTER_TEXT
    sid = CampaignStore(session, tenant_id).last_text_to(tags, since)
    if sid is not None:
        record_outcome_in(session, app, sid, Outcome.OPTED_OUT)


def subscribe() -> None:
    from carecall.calls import service as calls
    from carecall.channels import sms, voice

    if on_call_ended not in voice.end_listeners:
        voice.end_listeners.append(on_call_ended)
    if on_call_turn not in calls.turn_listeners:
        calls.turn_listeners.append(on_call_turn)
    if on_text_status not in sms.status_listeners:
        sms.status_listeners.append(on_text_status)
    if on_text_opt_out not in sms.opt_out_listeners:
        sms.opt_out_listeners.append(on_text_opt_out)
