"""Twilio SMS: templates, the policy check, sending with status callbacks, and inbound texts.

Outbound: a text is rendered from a purpose's template (the practice's name and number, and
for appointment purposes the day and time: no name, no other identifier), measured (GSM-7 or
UCS-2 segments), decided by the outbound policy on fresh facts while the number is locked,
written to the contact history, and handed to Twilio's Messaging REST API inside that same
unit of work, so an opt-out recorded for the number either precedes the check (and nothing
is sent) or follows the hand-over. The lock costs one Twilio round trip per send; on SQLite
it is the database write lock (see docs/decisions.md).

Inbound: the webhook (signature checked by ``channels.signature``) hands the text to
``handle_inbound``, which reads it with ``consent.rules.classify_inbound`` and answers with at
most one text: the single confirmation of a new opt-out (47 CFR 64.1200(a)(12)), the opt-in
notice, or the help answer. Other texts change nothing and are not stored.
"""

from __future__ import annotations

import logging
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.channels.signature import sid_hash
from carecall.channels.twilio_rest import TwilioUnavailable, rest_client
from carecall.consent import service as consent
from carecall.consent.model import InboundKind, OptOutSource
from carecall.consent.rules import classify_inbound
from carecall.consent.store import ConsentStore
from carecall.core.errors import InvalidInput, NotFound, PolicyRefused
from carecall.patients.rules import normalise_phone
from carecall.policy import Channel, Message, PolicyDecision, SmsMeasure, decide, measure
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import load_tenant
from carecall.tenants.store import TenantStore

log = logging.getLogger(__name__)

PREFIX = "/twilio/sms"
STATUS_PATH = PREFIX + "/status"
ACTOR = "twilio-sms"
SMS_PRINCIPAL = Principal.system(ACTOR)

#: One template per exempt purpose (47 CFR 64.1200(a)(9)(iv)): the practice named first,
#: its number, the opt-out notice, and nothing about the patient beyond an appointment's
#: own day and time. Placeholders: {practice}, {contact}, {day}, {time}.
TEMPLATES: dict[Purpose, str] = {
    Purpose.APPOINTMENT_REMINDER: "{practice}: reminder of your appointment on {day} at "
    "{time}. Call {contact} to change. Reply STOP to opt out.",
    Purpose.WELLNESS_CHECKUP: "{practice}: you are due for a wellness checkup. Call "
    "{contact} to book. Reply STOP to opt out.",
    Purpose.HOSPITAL_PREREGISTRATION: "{practice}: please pre-register before your visit on "
    "{day}. Call {contact} for help. Reply STOP to opt out.",
    Purpose.PREOPERATIVE_INSTRUCTIONS: "{practice}: your instructions for {day} are ready. "
    "Call {contact} with questions. Reply STOP to opt out.",
    Purpose.LAB_RESULTS: "{practice}: there is an update in your patient portal. Call "
    "{contact} with questions. Reply STOP to opt out.",
    Purpose.POST_DISCHARGE_FOLLOWUP: "{practice}: checking in after your recent stay. Call "
    "{contact} with any questions. Reply STOP to opt out.",
    Purpose.PRESCRIPTION_NOTIFICATION: "{practice}: your prescription is ready for pickup. "
    "Call {contact} with questions. Reply STOP to opt out.",
    Purpose.HOME_HEALTHCARE_INSTRUCTIONS: "{practice}: you have new home care instructions. "
    "Call {contact} for details. Reply STOP to opt out.",
}
PLACEHOLDERS = frozenset({"practice", "contact", "day", "time"})

#: Called inside a message status callback's unit of work with (session, app, message sid,
#: Twilio's status); campaigns subscribe to learn their texts' delivery.
status_listeners: list[Callable[[Session, Carecall, str, str], None]] = []
#: Called inside the unit of work that records an inbound text's opt-out with (session,
#: app, tenant id, the sender's number); campaigns count it against their last text.
opt_out_listeners: list[Callable[[Session, Carecall, uuid.UUID, str], None]] = []

#: Twilio message status -> contact history outcome.
STATUS_OUTCOMES = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "cancelled",
}


def format_phone(e164: str) -> str:
    """+16175550100 -> +1 617-555-0100 (readable, still the practice's own number)."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"+1 {e164[2:5]}-{e164[5:8]}-{e164[8:]}"
    return e164


def render(template: str, *, practice: str, contact: str,
           appointment_at: datetime | None = None, timezone: str | None = None) -> str:
    """Fill a template. Only the four placeholders exist, so a template cannot pull any
    other field of the record into a text; a template needing {day}/{time} needs the
    appointment."""
    fields: set[str] = set()
    try:
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                raise InvalidInput(
                    "A text template may only use {practice}, {contact}, {day} and {time}.")
            fields.add(name)
    except ValueError:
        raise InvalidInput("The text template has unbalanced braces.") from None
    values = {"practice": practice, "contact": format_phone(contact), "day": "", "time": ""}
    if fields & {"day", "time"}:
        if appointment_at is None:
            raise InvalidInput("This template names the appointment's day or time; give the "
                               "appointment.")
        local = appointment_at.astimezone(ZoneInfo(timezone or "UTC"))
        values["day"] = local.strftime("%a %b ") + str(local.day)
        values["time"] = local.strftime("%I:%M %p").lstrip("0")
    return template.format(**values)


def template_for(purpose: Purpose) -> str:
    template = TEMPLATES.get(purpose)
    if template is None:
        raise InvalidInput(f"There is no text template for '{purpose}': automated texts are "
                           "only for the healthcare exemption's purposes.")
    return template


@dataclass(frozen=True)
class SendResult:
    contact_id: uuid.UUID
    sid: str
    measure: SmsMeasure
    decision: PolicyDecision


def send_sms(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *,
             patient_id: uuid.UUID, phone: str, purpose: Purpose, body: str | None = None,
             appointment_at: datetime | None = None, timezone: str | None = None,
             ref: str | None = None) -> SendResult:
    """Render (when no body is given), check with the policy and send one automated text.

    Refused with ``PolicyRefused`` (every reason code) when the policy denies; audited
    either way. Raises ``TwilioUnavailable`` when Twilio refuses (the attempt stays in the
    history as ``error``, which the limits do not count).
    """
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    if not tenant.phone_numbers:
        raise InvalidInput("The practice has no phone number to send texts from.")
    zone = timezone or tenant.timezone
    text = body if body is not None else render(
        template_for(purpose), practice=tenant.display_name, contact=tenant.contact_phone,
        appointment_at=appointment_at, timezone=zone)
    size = measure(text)
    facts = consent.policy_facts(app, principal, tenant.id, patient_id, phone,
                                 purpose=purpose, timezone=timezone)
    number = facts.contact.phone
    message = Message(Channel.SMS, str(purpose), automated=True, text=text,
                      appointment_at=appointment_at)
    callback = status_callback(app)
    contact_id, sid, failure = uuid.UUID(int=0), "", None
    with app.db.transaction() as session:
        store = ConsentStore(session, app.keyring, tenant.id, app.index_bits)
        store.lock_number(number)
        now = app.clock.now()
        fresh = consent.number_facts(session, app, tenant.id, patient_id, number, now)
        contact = replace(facts.contact, consents=fresh.consents, opt_outs=fresh.opt_outs,
                          on_internal_dnc=fresh.on_internal_dnc)
        request = replace(facts.request(now, message), contact=contact, history=fresh.history)
        decision = decide(request)
        if decision.allowed:
            contact_id = consent.record_contact_in(
                session, app, principal, tenant.id, patient_id=patient_id,
                channel=Channel.SMS, purpose=str(purpose), outcome="queued", at=now, ref=ref)
            sid, failure = _hand_to_twilio(app, tenant, number, text, callback)
            store.set_contact(contact_id, app.clock.now(), outcome="error" if failure else None,
                              provider_sid=sid or None)
            _audit(app, session, principal, tenant, "sms.send", str(contact_id),
                   purpose=str(purpose), segments=size.segments, encoding=size.encoding,
                   outcome="error" if failure else "handed_over", sid_sha256=sid_hash(sid))
    if not decision.allowed:
        with app.db.transaction() as session:
            _audit(app, session, principal, tenant, "sms.refused", str(patient_id),
                   purpose=str(purpose), reasons=list(decision.codes), outcome="denied")
        raise PolicyRefused("The outbound policy refused this text: "
                            + ", ".join(decision.codes) + ".", reasons=decision.codes)
    if failure:
        raise TwilioUnavailable(failure)
    return SendResult(contact_id, sid, size, decision)


def status_callback(app: Carecall) -> str | None:
    base = app.settings.public_base_url.rstrip("/")
    return base + STATUS_PATH if base else None


def _hand_to_twilio(app: Carecall, tenant: Tenant, to: str, body: str,
                    callback: str | None) -> tuple[str, str | None]:
    """(sid, None) when Twilio accepted the message, ("", reason) when it did not."""
    try:
        client = rest_client(app.settings)
        created = client.messages.create(to=to, from_=tenant.phone_numbers[0], body=body,
                                         status_callback=callback or None)
    except (TwilioException, requests.RequestException) as exc:
        status = getattr(exc, "status", None)
        log.warning("twilio refused a message: %s", type(exc).__name__)
        return "", f"Twilio did not accept the text (HTTP {status or 'error'}); retry later."
    return str(created.sid), None


def _audit(app: Carecall, session: object, principal: Principal, tenant: Tenant,
           action: str, resource_id: str | None, *, outcome: str = "success",
           **details: str | int | bool | list[str]) -> None:
    append(session, AuditEvent(  # type: ignore[arg-type]
        actor=principal.actor, action=action, resource_type="sms", resource_id=resource_id,
        tenant_id=tenant.id, outcome="denied" if outcome == "denied" else "success",
        details=dict(details)), app.clock)


# -- inbound -------------------------------------------------------------------------------


def confirmation_text(tenant: Tenant) -> str:
    return (f"{tenant.display_name}: you are opted out and will get no more automated calls "
            f"or texts from us. Reply START to opt back in to texts. Help: "
            f"{format_phone(tenant.contact_phone)}")


def help_text(tenant: Tenant) -> str:
    return (f"{tenant.display_name}: for help call {format_phone(tenant.contact_phone)}. "
            "Reply STOP to opt out.")


def opt_in_text(tenant: Tenant) -> str:
    return (f"{tenant.display_name}: you are opted back in to texts. Reply STOP to opt out, "
            "HELP for help.")


def handle_inbound(app: Carecall, *, from_number: str, to_number: str, body: str,
                   message_sid: str = "", twilio_opt_out: str = "") -> str | None:
    """Act on one inbound text; returns the one reply to send, or None.

    ``twilio_opt_out`` is Twilio's ``OptOutType``: when Twilio's own keyword handling is on
    it has already confirmed, so carecall records the opt-out and sends nothing more.
    """
    with app.db.transaction() as session:
        tenant = TenantStore(session).by_phone_number(normalise_phone(to_number) or "")
    sender = normalise_phone(from_number)
    if tenant is None or sender is None:
        _inbound_audit(app, None, "sms.inbound.ignored", message_sid, "UNKNOWN_NUMBER")
        return None
    reading = classify_inbound(body)
    reply: str | None = None
    if reading.kind in (InboundKind.OPT_OUT, InboundKind.OPT_OUT_UNCLEAR):
        unclear = reading.kind is InboundKind.OPT_OUT_UNCLEAR
        with app.db.transaction() as session:
            result = consent.record_opt_out_in(
                session, app, SMS_PRINCIPAL, tenant, phone=sender, channel=Channel.SMS,
                source=OptOutSource.SMS_TEXT if reading.keyword is None else
                OptOutSource.SMS_KEYWORD, reason=reading.reason, scope=reading.scope,
                needs_review=unclear, review_text=body if unclear else None)
            for listener in list(opt_out_listeners):
                listener(session, app, tenant.id, sender)
        if result.confirm and not twilio_opt_out:
            reply = confirmation_text(tenant)
    elif reading.kind is InboundKind.OPT_IN:
        consent.record_opt_in(app, SMS_PRINCIPAL, tenant.id, sender)
        reply = None if twilio_opt_out else opt_in_text(tenant)
    elif reading.kind is InboundKind.HELP:
        reply = None if twilio_opt_out else help_text(tenant)
    _inbound_audit(app, tenant, "sms.inbound", message_sid, reading.reason,
                   kind=str(reading.kind), replied=reply is not None)
    return reply


def _inbound_audit(app: Carecall, tenant: Tenant | None, action: str, sid: str, reason: str,
                   **details: str | bool) -> None:
    with app.db.transaction() as session:
        append(session, AuditEvent(
            actor=SMS_PRINCIPAL.actor, action=action, resource_type="sms",
            resource_id=sid_hash(sid) or None, tenant_id=tenant.id if tenant else None,
            details={"reason": reason, **details}), app.clock)


def handle_status(app: Carecall, *, message_sid: str, status: str) -> bool:
    """A message status callback: the outcome goes into the contact history (only forward:
    a late "sent" never undoes "delivered"), and to the status listeners in the same unit
    of work. True when the history changed."""
    outcome = STATUS_OUTCOMES.get(status.strip().lower())
    if not message_sid or outcome is None:
        return False
    with app.db.transaction() as session:
        changed = consent.set_contact_outcome_in(session, app, SMS_PRINCIPAL, message_sid,
                                                 outcome)
        for listener in list(status_listeners):
            listener(session, app, message_sid, status)
    return changed
