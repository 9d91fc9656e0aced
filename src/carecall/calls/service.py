"""Call use cases: start a call, take a turn, end it; the practice's call profile and slots.

A turn loads the session (sealed state) by the channel's call id, asks the brain for a reply
(the brain reads PHI only through ``CallTools``, i.e. the audited patient service), passes
the utterance through the disclosure guard, and writes the new state, the redacted turns
(raw ones only when the practice retains them), the events and the audit entries in one unit
of work. Nothing stays in memory between turns.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from carecall.access.guard import authorize, ensure_tenant
from carecall.access.model import Principal
from carecall.access.rules import Action as AccessAction
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.calls.brain import Brain, CallProfile, RecordsUnavailable, Reply, brain_named
from carecall.calls.guard import FALLBACK, leaks
from carecall.calls.model import Action, CallerInput, CallEvent, Direction, OutboundRequest, Step
from carecall.calls.state import CallState
from carecall.calls.store import CallRow, CallStore
from carecall.calls.tenant_cache import tenant_in as tenants_cached
from carecall.calls.tools import AGENT, CallTools, profile_of
from carecall.core.errors import InvalidInput, NotFound, PolicyRefused
from carecall.core.ids import new_id
from carecall.patients.rules import normalise_phone
from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext, KnownIdentifiers
from carecall.phi.redact import MASK, redact
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import load_tenant
from carecall.tenants.store import tenant_phone_numbers

DEFAULT_BRAIN = "rule"
#: Called inside each turn's unit of work, before it commits, with (session, app, the call's
#: channel reference, the turn's events); campaigns subscribe to learn that a call they
#: placed confirmed an appointment or opted out.
turn_listeners: list[Callable[[Session, Carecall, str, list[CallEvent]], None]] = []
_DETECTOR: PhiDetector | None = None


def _detector() -> PhiDetector:
    global _DETECTOR  # noqa: PLW0603 - one lexicon per process, loaded on first use
    if _DETECTOR is None:
        _DETECTOR = PhiDetector()
    return _DETECTOR


# ---- the channel-facing use cases -------------------------------------------------------


def tenant_for_number(app: Carecall, number: str) -> Tenant | None:
    """Which practice owns the dialled number (inbound calls)."""
    normal = normalise_phone(number)
    if normal is None:
        return None
    with app.db.transaction() as session:
        tenant_id = session.connection().execute(
            _TENANT_OF_NUMBER, {"n": normal}).scalar_one_or_none()
        return None if tenant_id is None else tenants_cached(session, tenant_id)


_TENANT_OF_NUMBER = select(tenant_phone_numbers.c.tenant_id).where(
    tenant_phone_numbers.c.number == bindparam("n"))


class TurnTaken(Exception):
    """A ``claim`` given to ``start_call`` or ``take_turn`` refused the turn (a replay or a
    duplicate): nothing was done and the unit of work was rolled back."""


def start_call(
    app: Carecall,
    *,
    tenant_id: uuid.UUID,
    direction: Direction,
    from_number: str,
    to_number: str,
    channel_ref: str,
    outbound: OutboundRequest | None = None,
    claim: Callable[[Session], bool] | None = None,
) -> Step:
    """Open a call and return the agent's first utterance (AI disclosure, agent, practice,
    contact number). A second start with the same ``channel_ref`` (a webhook retry) replays
    the last utterance instead of opening a second call. ``claim``: as in ``take_turn``
    (the channel's own record of the call, written in the same unit of work)."""
    if not channel_ref or len(channel_ref) > 64:
        raise InvalidInput("A call needs a channel reference of at most 64 characters.")
    if direction == "outbound" and outbound is None:
        raise InvalidInput("An outbound call needs its patient and purpose.")
    with app.db.transaction() as session:
        if claim is not None and not claim(session):
            raise TurnTaken
        tenant = tenants_cached(session, tenant_id)
        if tenant is None:
            raise NotFound("No tenant with that id.")
        store = CallStore(session, app.keyring)
        existing = store.load(channel_ref)
        if existing is not None:
            return _replay(existing)
        tools = CallTools(app, tenant, _profile(store.profile(tenant.id)), session, store)
        outbound_call = direction == "outbound"
        state = CallState(
            call_id=str(new_id()),
            tenant_id=str(tenant.id),
            direction=direction,
            caller_number=to_number if outbound_call else from_number,
            practice_number=from_number if outbound_call else to_number,
            turn_seq=0,
            event_seq=0,
        )
        refused = False
        if outbound is not None:
            purpose = Purpose(outbound.purpose)
            state.outbound_patient = str(outbound.patient_id)
            state.outbound_purpose = str(purpose)
            appointment = outbound.appointment_id
            state.outbound_appointment = str(appointment) if appointment else None
            try:
                target = tools._get(outbound.patient_id, purpose)
            except RecordsUnavailable:
                refused = True  # leave the block normally: the refusal's audit commits
            else:
                tools.watch(state, target)
                state.outbound_first_name = target.first_name
        if not refused:
            brain = brain_named(_brain_name(app))
            reply = brain.open(state, tools)
            return _finish(app, tools, brain, None, state, reply, None, channel_ref)
    raise PolicyRefused("The practice's BAA does not cover this outbound call; it was "
                        "not placed.", reasons=("NO_ACTIVE_BAA",))


def take_turn(app: Carecall, *, channel_ref: str, caller_input: CallerInput,
              claim: Callable[[Session], bool] | None = None) -> Step:
    """One caller input in, the agent's next step out, in one unit of work: the session
    load, every record read and its audit entry, every change, the new state, the turns and
    the events commit together (the tenant is loaded once, the data keys unwrapped once).

    ``claim``, when given, runs first in the same unit of work (the channel's replay
    guard: the voice leg's turn compare-and-set); if it returns False, ``TurnTaken`` is
    raised and nothing is written."""
    with app.db.transaction() as session:
        if claim is not None and not claim(session):
            raise TurnTaken
        store = CallStore(session, app.keyring)
        row = store.load(channel_ref, for_write=True)
        tenant = tenants_cached(session, row.tenant_id) if row is not None else None
        if row is None or tenant is None:
            raise NotFound("No call with that reference.")
        state = row.state
        if state.status != "in_progress":
            return Step(say="", actions=(Action("hangup"),), outcome=state.outcome)  # type: ignore[arg-type]
        tools = CallTools(app, tenant, None, session, store)  # profile read on first use
        brain = brain_named(row.brain)
        reply = brain.respond(state, caller_input, tools)
        return _finish(app, tools, brain, row, state, reply, _said(caller_input), channel_ref)


def end_call(app: Carecall, *, channel_ref: str, status: str) -> None:
    """The caller hung up or the channel reports the call over; idempotent. A call the agent
    had not finished ends as ``caller_hung_up``."""
    now = app.clock.now()
    with app.db.transaction() as session:
        store = CallStore(session, app.keyring)
        row = store.load(channel_ref, for_update=True)
        if row is None:
            raise NotFound("No call with that reference.")
        state = row.state
        if state.status != "in_progress":
            return
        state.status = "ended"
        state.outcome = state.outcome or "caller_hung_up"
        events: list[tuple[str, dict[str, Any]]] = []
        if state.recording == "on":
            state.recording = "stopped"
            events.append(("recording_stopped", {}))
        events.append(("call_ended", {"status": status[:20]}))
        seq = store.reserve(state, "event", len(events), row)
        store.save(row, now)
        store.add_events(row.id, seq, events, now)
        append(session, AuditEvent(
            actor=AGENT.actor, action="call.end", resource_type="call",
            resource_id=state.call_id, tenant_id=row.tenant_id,
            details={"outcome": str(state.outcome), "status": status[:20],
                     "turns": state.turns}), app.clock)


# ---- practice settings for the agent ----------------------------------------------------


def call_profile(app: Carecall, tenant_id: uuid.UUID) -> CallProfile:
    with app.db.transaction() as session:
        data = CallStore(session, app.keyring).profile(tenant_id)
    return _profile(data)


def _profile(data: dict[str, Any] | None) -> CallProfile:
    return profile_of(data)


def set_call_profile(
    app: Carecall, principal: Principal, tenant_id: uuid.UUID, profile: CallProfile
) -> None:
    """The practice's own words for the agent (hours, directions, instructions, follow-up
    questions). Practice text, never PHI."""
    authorize(app, principal, AccessAction.TENANTS_CREATE, tenant_id)
    unknown = set(profile.instructions) - {"preregistration", "preop", "home_health"}
    if unknown:
        raise InvalidInput("Instructions may be 'preregistration', 'preop' or 'home_health'.")
    with app.db.transaction() as session:
        CallStore(session, app.keyring).set_profile(tenant_id, asdict(profile), app.clock.now())
        append(session, AuditEvent(actor=principal.actor, action="call.profile.set",
                                   resource_type="tenant", resource_id=str(tenant_id),
                                   tenant_id=tenant_id), app.clock)


def add_open_slots(
    app: Carecall, principal: Principal, tenant_id: uuid.UUID, starts: Iterable[datetime]
) -> int:
    """Times the agent may offer when rescheduling (taken once offered and chosen)."""
    authorize(app, principal, AccessAction.TENANTS_CREATE, tenant_id)
    times = list(starts)
    if any(s.tzinfo is None for s in times):
        raise InvalidInput("Open slots need a time zone (ISO-8601 with an offset).")
    with app.db.transaction() as session:
        CallStore(session, app.keyring).add_slots(tenant_id, times)
        append(session, AuditEvent(actor=principal.actor, action="call.slots.add",
                                   resource_type="tenant", resource_id=str(tenant_id),
                                   tenant_id=tenant_id, details={"count": len(times)}),
               app.clock)
    return len(times)


def call_events(app: Carecall, channel_ref: str) -> list[tuple[str, dict[str, Any], datetime]]:
    """A call's events with their times (ids and codes only)."""
    with app.db.transaction() as session:
        store = CallStore(session, app.keyring)
        row = store.load(channel_ref)
        if row is None:
            raise NotFound("No call with that reference.")
        return store.events(row.id)


# ---- internals --------------------------------------------------------------------------


def _brain_name(app: Carecall) -> str:
    return str(app.settings.extra.get("call_brain", DEFAULT_BRAIN))


def _said(caller_input: CallerInput) -> str:
    if caller_input.kind == "speech":
        return caller_input.text
    if caller_input.kind == "dtmf":
        return f"<dtmf:{caller_input.digits}>"
    return f"<{caller_input.kind}>"


def _replay(row: CallRow) -> Step:
    state = row.state
    if state.status != "in_progress":
        return Step(say="", actions=(Action("hangup"),), outcome=state.outcome)  # type: ignore[arg-type]
    return Step(say=state.last_question, actions=(Action("listen"),))


def _guard(session: Session, app: Carecall, tenant: Tenant, state: CallState,
           reply: Reply) -> Reply:
    """Replace an utterance that carries a non-verified patient's PHI by a safe fallback."""
    phones = tuple(p for p in (tenant.contact_phone, tenant.staff_phone, *tenant.phone_numbers)
                   if p)
    found = leaks(reply.text, state.watched, verified=state.verified,
                  practice_name=tenant.display_name, practice_phones=phones)
    if not found:
        return reply
    at = reply.spoken_at if reply.spoken_at is not None else len(reply.events)
    before = reply.events[:at]
    after = [e for e in reply.events[at:] if e.kind != "phi_disclosed"]
    safe = Reply(actions=list(reply.actions), outcome=reply.outcome)
    safe.events = [*before, CallEvent("guard_blocked", {}), *after]
    safe.spoken_at = at
    question = "" if reply.outcome else " Is there anything else I can help you with?"
    safe.say_parts = [FALLBACK + question]
    if not reply.outcome:
        state.phase = "anything_else"
        state.last_question = "Is there anything else I can help you with?"
    # The security event commits with the turn that replaced the utterance.
    append(session, AuditEvent(
        actor=AGENT.actor, action="call.guard_blocked", resource_type="call",
        resource_id=state.call_id, tenant_id=tenant.id, outcome="failure", severity="high",
        details={"patients": len(found)}), app.clock)
    return safe


def _known(state: CallState) -> KnownIdentifiers:
    return KnownIdentifiers(names=[n for w in state.watched.values() for n in w.names],
                            phones=[p for w in state.watched.values() for p in w.phones])


def _redacted(text: str, state: CallState, previous: str | None) -> str:
    context = DetectContext(previous_agent_text=previous, known=_known(state))
    return _mask_values(redact(text, _detector().detect(text, context)), state)


#: The agent's utterances repeat (prompts, questions): their redaction is kept per process,
#: keyed by a digest of the text, the known identifiers and the watched values, and holding
#: only the redacted text (what the transcript stores at rest), so no PHI stays in memory
#: between turns. Bounded; cleared when full.
_AGENT_REDACTIONS: dict[bytes, str] = {}
_AGENT_REDACTIONS_MAX = 4096


def _redacted_agent(text: str, state: CallState) -> str:
    known = _known(state)
    values = sorted({v for w in state.watched.values() for v in w.values})
    key = hashlib.blake2b(
        json.dumps([text, known.names, known.phones, values]).encode("utf-8"), digest_size=20,
    ).digest()
    cleaned = _AGENT_REDACTIONS.get(key)
    if cleaned is None:
        context = DetectContext(previous_agent_text=None, known=known)
        cleaned = _mask_values(redact(text, _detector().detect(text, context)), state)
        if len(_AGENT_REDACTIONS) >= _AGENT_REDACTIONS_MAX:
            _AGENT_REDACTIONS.clear()
        _AGENT_REDACTIONS[key] = cleaned
    return cleaned


def _mask_values(cleaned: str, state: CallState) -> str:
    # Facts the detector has no label for (balances, drug names, providers) are PHI here
    # because they belong to a patient on this call.
    values = sorted({v for w in state.watched.values() for v in w.values}, key=len, reverse=True)
    for value in values:
        cleaned = re.sub(re.escape(value), MASK, cleaned, flags=re.IGNORECASE)
    return cleaned


def _finish(
    app: Carecall,
    tools: CallTools,
    brain: Brain,
    row: CallRow | None,
    state: CallState,
    reply: Reply,
    caller_text: str | None,
    channel_ref: str,
) -> Step:
    """Guard the utterance and write the turn, in the turn's unit of work."""
    session, store, tenant = tools.session, tools.store, tools.tenant
    reply = _guard(session, app, tenant, state, reply)
    text = reply.text
    previous = state.last_question
    actions = list(reply.actions)
    if reply.outcome is not None:
        state.status = "ended"
        state.outcome = reply.outcome
        if state.recording == "on":
            state.recording = "stopped"
            actions.insert(0, Action("stop_recording"))
    else:
        actions.append(Action("listen"))
    state.turns += 1
    now = app.clock.now()
    # Redacted once per utterance, before anything is written.
    raw = tenant.retain_raw_transcripts
    caller_turn = None if caller_text is None else (
        _redacted(caller_text, state, previous), caller_text if raw else None)
    agent_turn = (_redacted_agent(text, state), text if raw else None)
    events = [(e.kind, e.fields) for e in reply.events]
    # Sequence numbers come from the state (saved with it), not from a query per row.
    turn_seq = store.reserve(state, "turn", 1 if caller_turn is None else 2, row)
    event_seq = store.reserve(state, "event", len(events), row)
    if row is None:
        store.insert_session(state, channel_ref, brain.name, now)
        row = CallRow(uuid.UUID(state.call_id), tenant.id, 1, state, state.status, brain.name)
        _audit(session, app, tenant, state, "call.start", direction=state.direction)
    else:
        store.save(row, now)
    said = [] if caller_turn is None else [("caller", *caller_turn)]
    store.add_turns(row, turn_seq, [*said, ("agent", *agent_turn)], now)
    store.add_events(row.id, event_seq, events, now)
    for event in reply.events:
        _audit_event(session, app, tenant, state, event)
    for listener in list(turn_listeners):
        listener(session, app, channel_ref, reply.events)
    if reply.outcome is not None:
        _audit(session, app, tenant, state, "call.end", outcome=str(reply.outcome),
               turns=state.turns)
    return Step(say=text, actions=tuple(actions), events=tuple(reply.events),
                outcome=reply.outcome, spoken_at=reply.spoken_at)


_AUDITED = {
    "identity_verified": ("call.identity_verified", "info"),
    "identity_failed": ("call.identity_failed", "warning"),
    "locked_out": ("call.locked_out", "warning"),
    "handoff": ("call.handoff", "info"),
    "phi_disclosed": ("call.phi_disclosed", "info"),
    "appointment_confirmed": ("call.appointment_confirmed", "info"),
    "appointment_cancelled": ("call.appointment_cancelled", "info"),
    "appointment_rescheduled": ("call.appointment_rescheduled", "info"),
    "recording_consent": ("call.recording_consent", "info"),
    "recording_started": ("call.recording_started", "info"),
    "recording_stopped": ("call.recording_stopped", "info"),
}


def _audit_event(session: Session, app: Carecall, tenant: Tenant, state: CallState,
                 event: CallEvent) -> None:
    known = _AUDITED.get(event.kind)
    if known is None:
        return
    details: dict[str, Any] = {}
    for key, value in event.fields.items():
        if key in ("patient", "appointment", "start"):
            continue  # the resource id below; a start time is not an audit detail
        details[key] = [str(v) for v in value] if isinstance(value, list) else (
            value if isinstance(value, (bool, int)) else str(value))
    append(session, AuditEvent(
        actor=AGENT.actor, action=known[0], resource_type="call",
        resource_id=str(event.fields.get("patient") or state.call_id), tenant_id=tenant.id,
        severity=known[1],  # type: ignore[arg-type]
        details={"call": state.call_id, **details}), app.clock)


def _audit(session: Session, app: Carecall, tenant: Tenant, state: CallState, action: str,
           **details: str | int) -> None:
    append(session, AuditEvent(
        actor=AGENT.actor, action=action, resource_type="call", resource_id=state.call_id,
        tenant_id=tenant.id, details=dict(details)), app.clock)


# ---- the simulator for the console --------------------------------------------------------

SIMULATED = "sim-"


def start_simulated_call(
    app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *, from_number: str
) -> tuple[str, Step]:
    """A simulated inbound call for QA and demos; returns its reference and the opening."""
    authorize(app, principal, AccessAction.CALLS_SIMULATE, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    if normalise_phone(from_number) is None:
        raise InvalidInput("The simulated caller's number is not a valid phone number.")
    ref = f"{SIMULATED}{new_id().hex}"
    number = tenant.phone_numbers[0] if tenant.phone_numbers else tenant.contact_phone
    step = start_call(app, tenant_id=tenant.id, direction="inbound", from_number=from_number,
                      to_number=number, channel_ref=ref)
    with app.db.transaction() as session:
        append(session, AuditEvent(actor=principal.actor, action="call.simulate",
                                   resource_type="call", resource_id=ref, tenant_id=tenant.id),
               app.clock)
    return ref, step


def simulated_turn(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    channel_ref: str,
    caller_input: CallerInput,
) -> Step:
    """One turn of a simulated call; real (telephone) calls cannot be driven this way, and
    another tenant's calls are "not found"."""
    authorize(app, principal, AccessAction.CALLS_SIMULATE, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
        row = CallStore(session, app.keyring).load(channel_ref) if channel_ref.startswith(
            SIMULATED) else None
    if tenant is None or row is None or row.tenant_id != tenant.id:
        raise NotFound("No call with that id.")
    ensure_tenant(principal, tenant.id, "call")
    return take_turn(app, channel_ref=channel_ref, caller_input=caller_input)
