"""Hand-off use cases: the queue, claiming a call, releasing or completing it, and a
supervisor's reassignment.

A claim creates an assignment (the user, the call, the patient the caller was verified as,
started / expires / ended); while it lasts, and only then, an agent may act on that
patient (``access.rules.on_assignment``). Each change is audited in the unit of work
that makes it, with ids and codes only. A call already claimed answers 409 ``HANDOFF_CLAIMED``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carecall.access.guard import authorize
from carecall.access.model import Assignment, Principal
from carecall.access.rules import Action, assignment_active, role_allows
from carecall.access.store import AccessStore
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.core.decision import Decision
from carecall.core.errors import Conflict, InvalidInput, NotFound
from carecall.core.ids import new_id
from carecall.handoffs import rules
from carecall.handoffs.model import EndReason, HandoffItem, HandoffStatus
from carecall.handoffs.rules import HandoffReason
from carecall.handoffs.store import HandoffCall, HandoffStore

SIMULATED = "sim-"

_MESSAGES = {
    HandoffReason.HANDOFF_CLAIMED: "Another user has taken this call; pick another one.",
    HandoffReason.HANDOFF_DONE: "This hand-off is completed; it is no longer in the queue.",
    HandoffReason.HANDOFF_NOT_CLAIMED: "No one holds this call; claim it first.",
}


def _refused(decision: Decision) -> Conflict:
    reason = HandoffReason(decision.reasons[0])
    return Conflict(_MESSAGES[reason], code=reason.value)


def _channel(ref: str) -> str:
    return "simulator" if ref.startswith(SIMULATED) else "voice"


def _audit(app: Carecall, session: Session, principal: Principal, tenant_id: uuid.UUID,
           action: str, call_id: uuid.UUID | None, **details: DetailValue) -> None:
    append(session, AuditEvent(
        actor=principal.actor, action=action, resource_type="call",
        resource_id=str(call_id) if call_id else None, tenant_id=tenant_id,
        details=dict(details)), app.clock)


def _user_id(principal: Principal) -> uuid.UUID:
    if principal.kind != "user":
        raise InvalidInput("Only a person takes handed-off calls.")
    return uuid.UUID(principal.id)


def queue(app: Carecall, principal: Principal, tenant_id: uuid.UUID,
          status: HandoffStatus | None = HandoffStatus.WAITING) -> list[HandoffItem]:
    """Handed-off calls of the tenant, newest first, without PHI (``status`` None: all)."""
    authorize(app, principal, Action.HANDOFFS_READ, tenant_id)
    now = app.clock.now()
    with app.db.transaction() as session:
        store = HandoffStore(session)
        calls = store.handed_off(tenant_id)
        ids = [c.call_id for c in calls]
        events = store.verification_events(ids)
        assignments = store.of_calls(ids)
        items = []
        for call in calls:
            held = assignments.get(call.call_id, [])
            state = rules.status_of(held, now)
            if status is not None and state is not status:
                continue
            current = rules.open_assignment(held)
            items.append(HandoffItem(
                call_id=call.call_id, reason=call.reason, at=call.at,
                channel=_channel(call.channel_ref), direction=call.direction,
                verified=rules.verified_patient(events.get(call.call_id, [])) is not None,
                status=state,
                assignment=current if state is HandoffStatus.CLAIMED else None))
        _audit(app, session, principal, tenant_id, "handoff.list", None,
               status=str(status) if status else "all", count=len(items))
    return items


def _call(store: HandoffStore, tenant_id: uuid.UUID, call_id: uuid.UUID) -> HandoffCall:
    found = store.handed_off(tenant_id, call_id)
    if not found:
        raise NotFound("No hand-off with that id.")
    return found[0]


def _assign(app: Carecall, session: Session, principal: Principal, tenant_id: uuid.UUID,
            call: HandoffCall, agent_id: uuid.UUID, action: str,
            **details: DetailValue) -> Assignment:
    store = HandoffStore(session)
    now = app.clock.now()
    events = store.verification_events([call.call_id]).get(call.call_id, [])
    assignment = Assignment(
        id=new_id(), tenant_id=tenant_id, call_id=call.call_id, agent_id=agent_id,
        patient_id=rules.verified_patient(events), started_at=now,
        expires_at=rules.expiry(now))
    store.insert(assignment, principal.actor)
    session.flush()
    _audit(app, session, principal, tenant_id, action, call.call_id,
           assignment=str(assignment.id), agent=str(agent_id),
           patient=str(assignment.patient_id) if assignment.patient_id else "unverified",
           minutes=int((assignment.expires_at - now).total_seconds() // 60), **details)
    return assignment


def claim(app: Carecall, principal: Principal, tenant_id: uuid.UUID,
          call_id: uuid.UUID) -> Assignment:
    """Take a handed-off call. Claiming again a call one already holds returns the same
    assignment; a call someone else holds is HANDOFF_CLAIMED, a completed one HANDOFF_DONE."""
    authorize(app, principal, Action.HANDOFFS_CLAIM, tenant_id)
    user_id = _user_id(principal)
    now = app.clock.now()
    try:
        with app.db.transaction() as session:
            store = HandoffStore(session)
            call = _call(store, tenant_id, call_id)
            held = store.of_call_for_update(call_id)
            current = rules.open_assignment(held)
            if current is not None and current.agent_id == user_id and assignment_active(
                    current, now):
                return current
            decision = rules.may_claim(held, now)
            if not decision:
                raise _refused(decision)
            if current is not None:  # expired, never ended: close it where it ran out
                store.end(current.id, current.expires_at, EndReason.EXPIRED)
            return _assign(app, session, principal, tenant_id, call, user_id, "handoff.claim",
                           reason=call.reason)
    except IntegrityError:
        # Two claims raced; the unique open-claim constraint let the other one win.
        raise Conflict(_MESSAGES[HandoffReason.HANDOFF_CLAIMED],
                       code=HandoffReason.HANDOFF_CLAIMED.value) from None


def release(app: Carecall, principal: Principal, tenant_id: uuid.UUID, call_id: uuid.UUID,
            *, completed: bool = False) -> Assignment:
    """End the call's open assignment: released (back in the queue) or completed (out of
    it). Its own user may; a supervisor may end anyone's."""
    authorize(app, principal, Action.HANDOFFS_CLAIM, tenant_id)
    user_id = _user_id(principal)
    manager = role_allows(principal.roles, Action.HANDOFFS_MANAGE)
    now = app.clock.now()
    with app.db.transaction() as session:
        store = HandoffStore(session)
        _call(store, tenant_id, call_id)
        held = store.of_call_for_update(call_id)
        decision = rules.may_end(held, user_id, manager)
        if not decision:
            raise _refused(decision)
        current = rules.open_assignment(held)
        assert current is not None
        reason = EndReason.COMPLETED if completed else EndReason.RELEASED
        store.end(current.id, now, reason)
        _audit(app, session, principal, tenant_id, f"handoff.{reason}", call_id,
               assignment=str(current.id), agent=str(current.agent_id),
               by_other=current.agent_id != user_id,
               expired=not assignment_active(current, now))
    return replace(current, ended_at=now, end_reason=reason.value)


def reassign(app: Carecall, principal: Principal, tenant_id: uuid.UUID, call_id: uuid.UUID,
             agent_id: uuid.UUID) -> Assignment:
    """A supervisor gives the call to another user of the practice who takes calls; the
    current holder's assignment ends (``reassigned``)."""
    authorize(app, principal, Action.HANDOFFS_MANAGE, tenant_id)
    now = app.clock.now()
    try:
        with app.db.transaction() as session:
            target = AccessStore(session).user(agent_id)
            if target is None or target.tenant_id != tenant_id or target.disabled_at:
                raise NotFound("No user with that id.")
            if not role_allows({target.role}, Action.HANDOFFS_CLAIM):
                raise InvalidInput("That user's role does not take handed-off calls.")
            store = HandoffStore(session)
            call = _call(store, tenant_id, call_id)
            held = store.of_call_for_update(call_id)
            if rules.status_of(held, now) is HandoffStatus.DONE:
                raise _refused(rules.may_claim(held, now))
            current = rules.open_assignment(held)
            previous = "none"
            if current is not None:
                previous = str(current.agent_id)
                ended = EndReason.REASSIGNED if assignment_active(current, now) else (
                    EndReason.EXPIRED)
                store.end(current.id, now if ended is EndReason.REASSIGNED
                          else current.expires_at, ended)
                session.flush()
            return _assign(app, session, principal, tenant_id, call, agent_id,
                           "handoff.reassign", previous_agent=previous)
    except IntegrityError:
        raise Conflict(_MESSAGES[HandoffReason.HANDOFF_CLAIMED],
                       code=HandoffReason.HANDOFF_CLAIMED.value) from None
