"""Hand-off use cases: the queue, claiming a call, releasing or completing it, a
supervisor's reassignment, and identifying the caller of a call the AI handed off before
verifying them.

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

from carecall.access.guard import authorize, security_event
from carecall.access.model import Assignment, Principal
from carecall.access.rules import (
    AccessReason,
    Action,
    assignment_active,
    role_allows,
    training_current,
)
from carecall.access.store import AccessStore
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue, Outcome, Severity
from carecall.audit.store import append
from carecall.calls.rules import (
    MAX_RECORD_FAILURES,
    RECORD_WINDOW,
    Claims,
    recent_failures,
    record_locked,
)
from carecall.calls.store import CallStore
from carecall.calls.tools import identity_of
from carecall.core.decision import Decision
from carecall.core.errors import (
    CarecallError,
    Conflict,
    InvalidInput,
    NotFound,
    PolicyRefused,
)
from carecall.core.ids import new_id
from carecall.handoffs import rules
from carecall.handoffs.model import EndReason, HandoffItem, HandoffStatus, Identified
from carecall.handoffs.rules import MAX_IDENTIFY_FAILURES, HandoffReason, Identification
from carecall.handoffs.store import HandoffCall, HandoffStore
from carecall.patients import service as patients
from carecall.patients.model import Patient
from carecall.patients.rules import normalise_phone
from carecall.tenants.model import Purpose
from carecall.tenants.service import load_tenant

SIMULATED = "sim-"

_MESSAGES = {
    HandoffReason.HANDOFF_CLAIMED: "Another user has taken this call; pick another one.",
    HandoffReason.HANDOFF_DONE: "This hand-off is completed; it is no longer in the queue.",
    HandoffReason.HANDOFF_NOT_CLAIMED: "No one holds this call; claim it first.",
    HandoffReason.HANDOFF_CLAIM_EXPIRED: "Your claim on this call ran out; claim it again.",
    HandoffReason.HANDOFF_IDENTIFIED: "This call already names its patient.",
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


# -- identifying the caller of an unverified hand-off ----------------------------------------

#: How the patient service's audit entries name the look-up: this component, on behalf of
#: the user (``system:handoff-identify:<user id>``). The user's role may not search.
IDENTIFY_COMPONENT = "handoff-identify"


class IdentityNotConfirmed(CarecallError):
    """The stated identifiers do not identify one patient (whatever the reason)."""

    code = HandoffReason.IDENTITY_NOT_CONFIRMED.value
    http_status = 422


class IdentifyLocked(CarecallError):
    """The user used up the identification attempts on this call."""

    code = HandoffReason.IDENTIFY_LOCKED.value
    http_status = 423


def _not_confirmed(failures: int) -> IdentityNotConfirmed:
    left = max(0, MAX_IDENTIFY_FAILURES - failures)
    if left == 0:
        return IdentityNotConfirmed(
            "These details do not identify one patient, and that was the last attempt on "
            "this call; ask a supervisor.")
    return IdentityNotConfirmed(
        f"These details do not identify one patient ({left} attempt(s) left on this call); "
        "check them with the caller, or ask for one more identifier (phone, ZIP or street "
        "address).")


def _identify_refused(decision: Decision) -> CarecallError:
    reason = HandoffReason(decision.reasons[0]) if decision.reasons else (
        HandoffReason.HANDOFF_NOT_CLAIMED)
    if reason is HandoffReason.IDENTIFY_LOCKED:
        return IdentifyLocked(
            "Too many failed identifications on this call; no more attempts. Ask a "
            "supervisor (break-glass in an emergency).")
    return Conflict(_MESSAGES[reason], code=reason.value)


def _event(app: Carecall, session: Session, principal: Principal, tenant_id: uuid.UUID,
           action: str, resource_type: str, resource_id: str, outcome: Outcome,
           severity: Severity, details: dict[str, DetailValue]) -> None:
    append(session, AuditEvent(
        actor=principal.actor, action=action, resource_type=resource_type,
        resource_id=resource_id, tenant_id=tenant_id, outcome=outcome, severity=severity,
        details=details), app.clock)


def identify(app: Carecall, principal: Principal, tenant_id: uuid.UUID, call_id: uuid.UUID,
             claims: Claims, purpose: Purpose = Purpose.PATIENT_SUPPORT) -> Identified:
    """Name the patient on the user's open claim of a call whose caller the AI had not
    verified, from the identifiers the caller states to the human: date of birth plus one
    more matching exactly one patient (``rules.identify``; a billing identifier, when
    given, is checked too). Candidates come from the patient service's blind-index look-up
    by date of birth (and by the stated phone, after a miss, only to know whose record the
    miss counts against), read as this component on the user's behalf.

    Every refusal of the identifiers answers IDENTITY_NOT_CONFIRMED, whichever identifier
    was wrong and whether nobody or several patients matched; it counts on the claim (three
    per user and call, then IDENTIFY_LOCKED, 423) and, for a mismatch, against the records
    it partly matched (the AI's 24-hour record lock). Failures commit with their audit
    entries; nothing about the records is said beyond "not one patient".
    """
    authorize(app, principal, Action.HANDOFFS_CLAIM, tenant_id)
    user_id = _user_id(principal)
    now = app.clock.now()
    if not training_current(principal, now):
        security_event(app, principal.actor, "access.denied", tenant_id=principal.tenant_id,
                       attempted="handoffs:identify",
                       reasons=[AccessReason.TRAINING_EXPIRED.value])
        raise PolicyRefused(
            "Your HIPAA training is missing or more than a year old; complete it and ask your "
            "administrator to record it before working with patient data.",
            reasons=(AccessReason.TRAINING_EXPIRED.value,))
    if not rules.stated_enough(claims):
        raise InvalidInput("Give the caller's date of birth and at least one more identifier "
                           "(full name, phone, ZIP or street address).",
                           code=HandoffReason.IDENTIFIERS_MISSING.value)
    if claims.phone is not None and normalise_phone(claims.phone) is None:
        raise InvalidInput("That is not a valid phone number.")
    outcome: Identified | CarecallError
    with app.db.transaction() as session:
        store = HandoffStore(session)
        _call(store, tenant_id, call_id)
        held = store.of_call_for_update(call_id)  # serialises attempts on the call
        failures = store.identify_failures(call_id, user_id)
        decision = rules.may_identify(held, user_id, failures, now)
        current = rules.open_assignment(held)
        if decision and current is not None:
            outcome = _attempt(app, session, principal, tenant_id, current, claims, failures,
                               purpose)
        else:
            _event(app, session, principal, tenant_id, "handoff.identify_refused", "call",
                   str(call_id), "denied",
                   "high" if HandoffReason.IDENTIFY_LOCKED in decision.reasons else "warning",
                   {"reasons": list(decision.codes), "failures": failures})
            outcome = _identify_refused(decision)
    if isinstance(outcome, CarecallError):
        raise outcome
    return outcome


def _attempt(app: Carecall, session: Session, principal: Principal, tenant_id: uuid.UUID,
             current: Assignment, claims: Claims, failures: int,
             purpose: Purpose) -> Identified | CarecallError:
    """One identification inside the caller's unit of work; a refusal is returned (not
    raised) so the failure count and its audit entries commit."""
    tenant = load_tenant(session, tenant_id)
    if tenant is None:
        return NotFound("No tenant with that id.")
    finder = Principal.system(f"{IDENTIFY_COMPONENT}:{current.agent_id}")
    calls = CallStore(session, app.keyring)
    now = app.clock.now()

    def decide(people: list[Patient]) -> Identification:
        locked = frozenset(
            p.id for p in people
            if record_locked(calls.failure_times(tenant_id, p.id, now - RECORD_WINDOW), now))
        return rules.identify(claims, [identity_of(p) for p in people], locked=locked)

    try:
        people = patients.find_patients_in(session, app, finder, tenant, purpose=purpose,
                                           dob=claims.dob)
        result = decide(people)
        if not result.identified and claims.phone is not None:
            # The stated phone adds no identifier here (the date of birth must match); its
            # records are where a miss was aimed, so the miss counts against them too.
            known = {p.id for p in people}
            people += [p for p in patients.find_patients_in(
                session, app, finder, tenant, purpose=purpose, phone=claims.phone)
                if p.id not in known]
            result = decide(people)
    except PolicyRefused as refused:  # the BAA: its refusal is audited in this unit of work
        return refused
    base: dict[str, DetailValue] = {"assignment": str(current.id)}
    if result.identified:
        assert result.patient_id is not None
        if not HandoffStore(session).set_patient(current.id, result.patient_id):
            return Conflict(_MESSAGES[HandoffReason.HANDOFF_IDENTIFIED],
                            code=HandoffReason.HANDOFF_IDENTIFIED.value)
        _event(app, session, principal, tenant_id, "handoff.identified", "call",
               str(current.call_id), "success", "info",
               base | {"patient": str(result.patient_id),
                       "identifiers": list(result.identifiers),
                       "billing": result.billing_verified, "failures": failures})
        return Identified(replace(current, patient_id=result.patient_id),
                          result.identifiers, result.billing_verified)
    HandoffStore(session).add_identify_failure(current.id)
    failures += 1
    if rules.counts_against_records(result):
        for pid in result.against:
            calls.add_failure(tenant_id, pid, current.call_id, now)
            times = calls.failure_times(tenant_id, pid, now - RECORD_WINDOW)
            if recent_failures(times, now) == MAX_RECORD_FAILURES:
                _event(app, session, principal, tenant_id, "handoff.record_locked",
                       "patient", str(pid), "failure", "high",
                       {"call": str(current.call_id)})
    _event(app, session, principal, tenant_id, "handoff.identify_failed", "call",
           str(current.call_id), "failure", "warning",
           base | {"reasons": list(result.decision.codes), "failures": failures})
    if failures >= MAX_IDENTIFY_FAILURES:
        _event(app, session, principal, tenant_id, "handoff.identify_locked", "call",
               str(current.call_id), "failure", "high", base | {"failures": failures})
    return _not_confirmed(failures)
