"""Twilio Voice: webhooks in, TwiML out, and outbound calls through the REST API.

Each function takes what the (signature-checked) webhook carried, calls the conversation
engine (``carecall.calls.service``), and returns the TwiML to answer with. The call's state
lives in the engine's store and in ``voice_legs``; nothing is kept in memory between turns.

Replays. Twilio has no nonce, so a captured, validly signed request can be sent again. Each
``<Gather>`` action URL carries the number of the turn it answers (``?t=3``); the leg's row
holds the next expected turn and ``store.claim_turn`` advances it with a compare-and-set (the
first statement of the turn's unit of work), so exactly one request takes a turn. A replayed
or duplicated answer for a live call gets a neutral "say that again" (no PHI, nothing passed
to the engine); for an ended call, a hang-up.
A replayed inbound webhook finds its CallSid taken and gets the same treatment.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.calls import service as engine
from carecall.calls.model import CallerInput, OutboundRequest, Step
from carecall.channels import store, twiml
from carecall.channels.model import FINAL_STATUSES, MACHINE_ANSWERS, VoiceLeg
from carecall.channels.signature import sid_hash
from carecall.channels.twilio_rest import TwilioUnavailable, rest_client
from carecall.core.errors import CarecallError, InvalidInput, NotFound
from carecall.core.ids import new_id
from carecall.tenants.model import Tenant

log = logging.getLogger(__name__)

PREFIX = "/twilio/voice"
ACTOR = "system:twilio-voice"


@dataclass(frozen=True)
class CallSummary:
    """A call as Twilio's call list reports it (for crash reconciliation)."""

    sid: str
    to: str
    status: str
    direction: str
    start_time: datetime | None
    answered_by: str | None


@dataclass(frozen=True)
class CallEnded:
    """What a status callback told us about a call that is over."""

    leg: VoiceLeg
    status: str
    answered_by: str | None


#: Called (after commit) when a call ends; campaigns subscribe to learn attempt outcomes.
end_listeners: list[Callable[[Carecall, CallEnded], None]] = []


# -- URLs ------------------------------------------------------------------------------------

def url(app: Carecall, path: str, **query: str | int) -> str:
    """An absolute URL under the public base (relative when none is configured, which
    Twilio resolves against the URL it is on)."""
    base = app.settings.public_base_url.rstrip("/")
    tail = PREFIX + path + (("?" + urlencode(query)) if query else "")
    return base + tail


def _urls(app: Carecall, turn: int) -> twiml.Urls:
    return twiml.Urls(gather=url(app, "/gather", t=turn),
                      recording_status=url(app, "/recording"))


# -- inbound ---------------------------------------------------------------------------------

def inbound(app: Carecall, *, call_sid: str, from_number: str, to_number: str) -> str:
    """A call to one of the practices' numbers: the agent's opening, then listen."""
    tenant = engine.tenant_for_number(app, to_number)
    if tenant is None:
        _audit(app, "voice.unknown_number", None, call_sid=call_sid)
        return twiml.goodbye(twiml.UNKNOWN_NUMBER)
    leg = VoiceLeg(id=new_id(), tenant_id=tenant.id, direction="inbound", state="active",
                   turn=1, call_sid=call_sid)

    def claim(session: Session) -> bool:
        # The leg commits with the opening (one unit of work); a replayed inbound webhook
        # finds the CallSid taken (and the unit of work, which wrote nothing, rolls back).
        try:
            store.insert_leg(session, leg, app.clock.now())
        except IntegrityError:
            return False
        return True

    try:
        step = _engine(lambda: engine.start_call(
            app, tenant_id=tenant.id, direction="inbound", from_number=from_number,
            to_number=to_number, channel_ref=call_sid, claim=claim))
    except engine.TurnTaken:
        return _replayed(app, call_sid)
    return _render(app, leg, step, tenant, turn=1)


# -- outbound --------------------------------------------------------------------------------

def place_call(app: Carecall, *, tenant: Tenant, to: str, patient_id: uuid.UUID,
               purpose: str, appointment_id: uuid.UUID | None = None) -> str:
    """Ask Twilio to call ``to`` from the practice's number; returns the CallSid.

    The leg is committed before Twilio is asked, so the answer webhook always finds it; the
    answer URL names the leg, not the patient. Answering-machine detection waits for the end
    of a greeting (``DetectMessageEnd``) so a voicemail message lands after the beep. The
    caller (the campaign's dial step) has already had the outbound policy's ``allow``.
    """
    if not tenant.phone_numbers:
        raise InvalidInput(f"Tenant {tenant.slug} has no phone number to call from; add one.")
    leg = VoiceLeg(id=new_id(), tenant_id=tenant.id, direction="outbound", state="placed",
                   turn=0, patient_id=patient_id, purpose=purpose,
                   appointment_id=appointment_id)
    now = app.clock.now()
    with app.db.transaction() as session:
        store.insert_leg(session, leg, now)
    from twilio.base.exceptions import TwilioException

    try:
        call = rest_client(app.settings).calls.create(
            to=to, from_=tenant.phone_numbers[0], url=url(app, "/answer", leg=str(leg.id)),
            method="POST", status_callback=url(app, "/status"), status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            machine_detection="DetectMessageEnd", timeout=30)
    except (TwilioException, OSError) as exc:
        with app.db.transaction() as session:
            store.set_state(session, leg.id, "ended", app.clock.now())
        status = getattr(exc, "status", None)
        raise TwilioUnavailable(
            f"Twilio did not place the call (HTTP {status or 'no answer'}); retry later."
        ) from None
    sid = str(call.sid)
    with app.db.transaction() as session:
        store.attach_sid(session, leg.id, sid, app.clock.now())
        _audit_in(session, app, "voice.call_placed", leg, call_sid=sid)
    return sid


def answered(app: Carecall, *, leg_id: str, call_sid: str, answered_by: str,
             from_number: str, to_number: str) -> str:
    """Twilio's request once an outbound call is answered (after machine detection).

    ``to_number`` is the number carecall dialled (it counts as the phone identifier)."""
    try:
        parsed = uuid.UUID(leg_id)
    except ValueError:
        return twiml.goodbye()
    now = app.clock.now()
    with app.db.transaction() as session:
        leg = store.leg_by_id(session, parsed)
        if leg is None or leg.direction != "outbound":
            return twiml.goodbye()
        if not store.attach_sid(session, leg.id, call_sid, now):
            return twiml.goodbye()
        first = store.activate(session, leg.id, now, answered_by or None)
        tenant = _tenant(session, leg.tenant_id)
    if not first:
        return _replayed(app, call_sid)
    assert leg.patient_id is not None
    assert leg.purpose is not None
    request = OutboundRequest(patient_id=leg.patient_id, purpose=leg.purpose,
                              appointment_id=leg.appointment_id)
    if answered_by == "fax":
        return twiml.goodbye()
    step = _engine(lambda: engine.start_call(
        app, tenant_id=leg.tenant_id, direction="outbound", from_number=from_number,
        to_number=to_number, channel_ref=call_sid, outbound=request))
    if answered_by in MACHINE_ANSWERS:
        # Only the voicemail message is spoken: the opening asks for the patient by name,
        # which must not be left on a machine others may hear.
        with app.db.transaction() as session:
            store.claim_turn(session, call_sid, 1, app.clock.now())
        step = _engine(lambda: engine.take_turn(app, channel_ref=call_sid,
                                                caller_input=CallerInput("voicemail")))
    return _render(app, leg, step, tenant, turn=1)


# -- turns -----------------------------------------------------------------------------------

def caller_input(speech: str, confidence: str, digits: str) -> CallerInput:
    """What Twilio's ``<Gather>`` posted, as the engine's input (nothing at all: silence)."""
    digits = "".join(ch for ch in digits if ch.isdigit() or ch in "*#")
    if digits:
        return CallerInput.dtmf(digits)
    if speech.strip():
        try:
            conf: float | None = min(1.0, max(0.0, float(confidence))) if confidence else None
        except ValueError:
            conf = None
        return CallerInput.speech(speech.strip(), conf)
    return CallerInput("silence")


def gather(app: Carecall, *, call_sid: str, turn: str, given: CallerInput) -> str:
    """One answer to the agent: claim the turn (one statement) and ask the engine in one
    unit of work, render.

    The claim is the turn's first statement, in the engine's transaction: a duplicate
    request waits for the first one's commit (PostgreSQL's row lock, SQLite's writer) and
    then finds the turn taken. A turn that fails rolls its claim back with it, so Twilio's
    retry of that request is served rather than refused."""
    try:
        number = int(turn)
    except ValueError:
        number = -1
    if number <= 0:
        return _replayed(app, call_sid)
    claimed: list[VoiceLeg] = []

    def claim(session: Session) -> bool:
        leg = store.claim_turn(session, call_sid, number, app.clock.now())
        if leg is not None:
            claimed.append(leg)
        return leg is not None

    try:
        step = _engine(lambda: engine.take_turn(app, channel_ref=call_sid,
                                                caller_input=given, claim=claim))
    except engine.TurnTaken:
        return _replayed(app, call_sid)
    return _render(app, claimed[0], step, None, turn=number + 1)


def _replayed(app: Carecall, call_sid: str) -> str:
    """A request for a turn already taken (a replay or a duplicate): nothing reaches the
    engine and nothing about the caller is said."""
    with app.db.transaction() as session:
        leg = store.leg_by_sid(session, call_sid)
        if leg is not None:
            _audit_in(session, app, "voice.turn_replayed", leg, severity="warning")
    if leg is None or leg.state != "active":
        return twiml.goodbye()
    return twiml.listen_again(twiml.STALE_TURN, _urls(app, leg.turn))


def _render(app: Carecall, leg: VoiceLeg, step: Step, tenant: Tenant | None, *,
            turn: int) -> str:
    if any(a.kind == "stop_recording" for a in step.actions) and leg.call_sid:
        stop_recording(app, leg)
    if tenant is None and any(a.kind == "transfer" and not a.target for a in step.actions):
        with app.db.transaction() as session:  # the engine named no number: the staff line
            tenant = _tenant(session, leg.tenant_id)
    staff = tenant.staff_phone or tenant.contact_phone if tenant else None
    return twiml.render(step, _urls(app, turn), staff_phone=staff)


class _EngineTime(threading.local):
    ms: float = 0.0


#: Time spent inside the conversation engine by this thread's current webhook, so the edge
#: can report carecall's channel overhead and the engine's share apart (``Server-Timing``).
engine_time = _EngineTime()


def _engine(work: Callable[[], Step]) -> Step:
    started = time.perf_counter()
    try:
        return work()
    finally:
        engine_time.ms += (time.perf_counter() - started) * 1000


def stop_recording(app: Carecall, leg: VoiceLeg) -> None:
    """Stop the live recording through the REST API (TwiML has no ``<Stop><Recording>``)."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        rest_client(app.settings).calls(leg.call_sid).recordings("Twilio.CURRENT").update(
            status="stopped")
    except TwilioRestException as exc:
        if exc.status != 404:  # 404: nothing is recording, which is what was asked
            _audit(app, "voice.recording_stop_failed", leg, severity="warning", http=exc.status)
    except (TwilioException, OSError, CarecallError):
        _audit(app, "voice.recording_stop_failed", leg, severity="warning", http=0)


# -- status ----------------------------------------------------------------------------------

def status(app: Carecall, *, call_sid: str, call_status: str, answered_by: str = "") -> None:
    """A call status callback: on a final status, end the call in the engine once."""
    if call_status not in FINAL_STATUSES:
        return
    with app.db.transaction() as session:
        leg = store.leg_by_sid(session, call_sid)
        ended = leg is not None and store.end_leg(session, call_sid, call_status,
                                                  app.clock.now())
    if leg is None or not ended:
        return
    if leg.state != "placed":  # a call never answered has no conversation to end
        # NotFound: the engine never opened it (it refused the call's start)
        with contextlib.suppress(NotFound):
            engine.end_call(app, channel_ref=call_sid, status=call_status)
    event = CallEnded(leg=leg, status=call_status, answered_by=answered_by or leg.answered_by)
    for listener in list(end_listeners):
        try:
            listener(app, event)
        except Exception:  # a listener's bug must not fail Twilio's callback
            log.exception("call end listener failed")


def recording_subject(app: Carecall, call_sid: str) -> uuid.UUID | None:
    """The patient a call's recording is about: the one verified on the call, else the one
    an outbound call asked for (``None``: nobody; the recording is then its own subject)."""
    try:
        events = engine.call_events(app, call_sid)
    except CarecallError:
        return None
    for kind, fields, _at in reversed(events):
        if kind == "identity_verified" and fields.get("patient"):
            try:
                return uuid.UUID(str(fields["patient"]))
            except ValueError:
                return None
    return None


def find_calls(app: Carecall, *, to: str, since: datetime) -> list[CallSummary]:
    """Calls Twilio placed to ``to`` since ``since``: lets a restarted campaign worker see
    whether its last attempt reached Twilio before it died."""
    from twilio.base.exceptions import TwilioException

    try:
        found = rest_client(app.settings).calls.list(to=to, start_time_after=since,
                                                     page_size=50)
    except (TwilioException, OSError):
        raise TwilioUnavailable("Twilio's call list did not answer; retry later.") from None
    return [
        CallSummary(sid=c.sid, to=c.to, status=str(c.status), direction=str(c.direction),
                    start_time=c.start_time if isinstance(c.start_time, datetime) else None,
                    answered_by=c.answered_by)
        for c in found
    ]


# -- helpers ---------------------------------------------------------------------------------

def _tenant(session: object, tenant_id: uuid.UUID) -> Tenant:
    from carecall.tenants.service import load_tenant

    tenant = load_tenant(session, tenant_id)  # type: ignore[arg-type]
    if tenant is None:
        raise InvalidInput("The call's practice no longer exists.")
    return tenant


def _audit_in(session: object, app: Carecall, action: str, leg: VoiceLeg | None, *,
              severity: Literal["info", "warning"] = "info", **details: str | int) -> None:
    if "call_sid" in details:
        details["call_sid_sha256"] = sid_hash(str(details.pop("call_sid")))
    append(session, AuditEvent(  # type: ignore[arg-type]
        actor=ACTOR, action=action, resource_type="call",
        resource_id=str(leg.id) if leg else None, tenant_id=leg.tenant_id if leg else None,
        severity=severity, details=dict(details)), app.clock)


def _audit(app: Carecall, action: str, leg: VoiceLeg | None, *,
           severity: Literal["info", "warning"] = "info", **details: str | int) -> None:
    with app.db.transaction() as session:
        _audit_in(session, app, action, leg, severity=severity, **details)
