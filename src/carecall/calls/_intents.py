"""The rule brain's answers to each intent, once the caller may hear them.

Every answer says only what its intent needs (45 CFR 164.502(b), minimum necessary): an
appointment's time, provider and place, a balance, a prescription's status, whether lab
results are in (never their values), the practice's own instructions.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from carecall.calls._replies import (
    anything_else,
    ask,
    lock_offer,
    offer_human,
    third_party,
)
from carecall.calls.brain import Reply, Tools
from carecall.calls.rules import Claims, Intent, normalise_text, within_one_minute
from carecall.calls.speech import say_money, say_phone, say_when
from carecall.calls.state import CallState
from carecall.calls.understand import ASK_BILLING, ASK_IDENTITY
from carecall.patients.model import Appointment, Patient
from carecall.tenants.model import Purpose

PURPOSE_OF: dict[Intent, Purpose] = {
    Intent.APPOINTMENT: Purpose.SCHEDULING,
    Intent.CONFIRM: Purpose.SCHEDULING,
    Intent.CANCEL: Purpose.SCHEDULING,
    Intent.RESCHEDULE: Purpose.SCHEDULING,
    Intent.BILLING: Purpose.BILLING_ENQUIRY,
    Intent.PRESCRIPTION: Purpose.PRESCRIPTION_NOTIFICATION,
    Intent.LABS: Purpose.LAB_RESULTS,
    Intent.PREREGISTRATION: Purpose.HOSPITAL_PREREGISTRATION,
    Intent.PREOP: Purpose.PREOPERATIVE_INSTRUCTIONS,
    Intent.HOME_HEALTH: Purpose.HOME_HEALTHCARE_INSTRUCTIONS,
    Intent.FOLLOWUP: Purpose.POST_DISCHARGE_FOLLOWUP,
}
_ORDINALS = {"first": 0, "one": 0, "1": 0, "second": 1, "two": 1, "2": 1, "third": 2,
             "three": 2, "3": 2, "last": -1}


def start_intent(r: Reply, state: CallState, intent: Intent, tools: Tools) -> None:
    profile = tools.profile
    if intent is Intent.HOURS:
        r.say(profile.hours or "I don't have our opening hours on file; please call us "
              f"at {say_phone(tools.tenant.contact_phone)}.")
        anything_else(r, state)
        return
    if intent is Intent.DIRECTIONS:
        r.say(profile.directions or "I don't have directions on file; please call us at "
              f"{say_phone(tools.tenant.contact_phone)}.")
        anything_else(r, state)
        return
    if state.third_party:
        third_party(r, state, tools)
        return
    if state.locked:
        lock_offer(r, state)
        return
    state.pending = intent
    if state.verified is None:
        state.phase = "verify"
        state.asked = ASK_IDENTITY
        state.claims = Claims()
        ask(r, state, "I can help with that. First, to protect your privacy, please "
                            "tell me your full name and date of birth.")
        return
    fulfil(r, state, intent, tools)


def after_verified(r: Reply, state: CallState, tools: Tools) -> None:
    pending = state.pending or Intent.APPOINTMENT
    if pending == "reminder":
        say_reminder(r, state, tools)
        return
    fulfil(r, state, Intent(pending), tools)


def fulfil(  # noqa: PLR0911, PLR0912, PLR0915 - one branch per intent, kept together
    r: Reply, state: CallState, intent: Intent, tools: Tools
) -> None:
    state.pending = intent
    if intent is Intent.BILLING and not state.billing_verified:
        state.phase = "billing_verify"
        state.asked = ASK_BILLING
        ask(r, state, "For billing questions I need one more detail: the date of your "
                            "most recent visit, or an invoice number.")
        return
    patient = tools.patient(state, PURPOSE_OF[intent])
    pid = str(patient.id)
    tz = tools.tenant.timezone
    if intent in (Intent.APPOINTMENT, Intent.CONFIRM, Intent.CANCEL, Intent.RESCHEDULE):
        appointment = next_appointment(state, patient, tools.now())
        if appointment is None:
            if intent is Intent.RESCHEDULE:
                r.say("I don't see an upcoming appointment for you.")
                offer_human(r, state, "Would you like me to transfer you to our staff "
                                            "to book one?")
                return
            r.say("I don't see any upcoming appointments for you.")
            offer_human(r, state, "Would you like me to transfer you to our staff to "
                                        "book one?")
            return
        state.appointment = str(appointment.id)
        when = say_when(appointment.start, tz)
        if intent is Intent.APPOINTMENT:
            r.say(f"Your next appointment is on {when} with {appointment.provider} at "
                  f"{appointment.location}.")
            r.event("phi_disclosed", patient=pid, fields=[
                "appointment.start", "appointment.provider", "appointment.location"])
            state.phase = "appointment_action"
            ask(r, state, "Would you like to confirm, cancel or reschedule it?")
            return
        if intent is Intent.CONFIRM:
            tools.set_appointment(state, appointment.id, Purpose.SCHEDULING,
                                  status="confirmed")
            r.event("appointment_confirmed", appointment=str(appointment.id))
            r.say(f"Your appointment on {when} is confirmed.")
            r.event("phi_disclosed", patient=pid, fields=["appointment.start"])
            anything_else(r, state)
            return
        if intent is Intent.CANCEL:
            state.phase = "confirm_cancel"
            ask(r, state, f"Just to be sure: do you want to cancel your appointment "
                                f"on {when}?")
            r.event("phi_disclosed", patient=pid, fields=["appointment.start"])
            return
        slots = tools.open_slots(3)
        if not slots:
            r.say("I'm sorry, I don't have any open times to offer right now.")
            offer_human(r, state, "Would you like me to transfer you to our staff?")
            return
        state.offered = [s.isoformat() for s in slots]
        state.phase = "choose_slot"
        options = ", ".join(say_when(s, tz) for s in slots[:-1])
        options = f"{options}, or {say_when(slots[-1], tz)}" if options else say_when(
            slots[-1], tz)
        ask(r, state, f"Your appointment is currently on {when}. I can offer "
                            f"{options}. Which would you like?")
        r.event("phi_disclosed", patient=pid, fields=["appointment.start"])
        return
    if intent is Intent.BILLING:
        total = sum((i.balance for i in patient.invoices), start=type(
            patient.invoices[0].balance)(0)) if patient.invoices else None
        if total is None:
            r.say("I don't see any open invoices for you.")
        else:
            r.say(f"Your current balance is {say_money(total)}.")
            r.event("phi_disclosed", patient=pid, fields=["billing.balance"])
        anything_else(r, state)
        return
    if intent is Intent.PRESCRIPTION:
        say_prescriptions(r, state, patient)
        return
    if intent is Intent.LABS:
        say_labs(r, state, patient)
        return
    if intent is Intent.FOLLOWUP:
        state.followup_index = 0
        state.phase = "followup"
        if not tools.profile.followup_questions:
            r.say("Our care team will follow up with you directly.")
            anything_else(r, state)
            return
        r.say("I have a few follow-up questions after your discharge.")
        ask(r, state, tools.profile.followup_questions[0])
        return
    key = {Intent.PREREGISTRATION: "preregistration", Intent.PREOP: "preop",
           Intent.HOME_HEALTH: "home_health"}[intent]
    text = tools.profile.instructions.get(key)
    if text is None:
        r.say("I don't have those instructions on file.")
        offer_human(r, state, "Would you like me to transfer you to our staff?")
        return
    r.say(text)
    anything_else(r, state)


def say_prescriptions(r: Reply, state: CallState, patient: Patient) -> None:
    live = [p for p in patient.prescriptions if p.status in ("ready", "pending")]
    if not live:
        r.say("I don't see any prescriptions in progress for you.")
    else:
        parts = [f"your {p.name} prescription is "
                 + ("ready for pick-up" if p.status == "ready" else "still being prepared")
                 for p in live]
        r.say(("; ".join(parts) + ".").capitalize())
        r.event("phi_disclosed", patient=str(patient.id),
                fields=["prescription.name", "prescription.status"])
    anything_else(r, state)


def say_labs(r: Reply, state: CallState, patient: Patient) -> None:
    if not patient.lab_results:
        r.say("I don't see any lab results on file for you.")
    elif any(lab.status in ("available", "reviewed") for lab in patient.lab_results):
        r.say("Your lab results are available. I can't share results over the phone; your "
              "provider will go over them with you.")
        r.event("phi_disclosed", patient=str(patient.id), fields=["lab.status"])
    else:
        r.say("Your lab results are not available yet.")
        r.event("phi_disclosed", patient=str(patient.id), fields=["lab.status"])
    anything_else(r, state)


def say_reminder(r: Reply, state: CallState, tools: Tools) -> None:
    patient = tools.patient(state, Purpose.APPOINTMENT_REMINDER)
    wanted = state.outbound_appointment
    appointment = next((a for a in patient.appointments if str(a.id) == wanted), None)
    appointment = appointment or next_appointment(state, patient, tools.now())
    if appointment is None:
        r.say("Thank you. I no longer see an upcoming appointment for you.")
        anything_else(r, state)
        return
    state.appointment = str(appointment.id)
    message = (
        f"This is a reminder of your appointment on "
        f"{say_when(appointment.start, tools.tenant.timezone)} with {appointment.provider} "
        f"at {appointment.location}. To confirm, press 1 or say confirm. To cancel, press 2 "
        "or say cancel. To reschedule, press 3 or say reschedule. To stop automated calls "
        "from us, press 9."
    )
    assert within_one_minute(message)
    r.say("Thank you.")
    r.say(message)
    state.last_question = "Would you like to confirm, cancel or reschedule?"
    r.event("phi_disclosed", patient=str(patient.id), fields=[
        "appointment.start", "appointment.provider", "appointment.location"])
    state.phase = "appointment_action"


def next_appointment(state: CallState, patient: Patient, now: datetime) -> Appointment | None:
    upcoming = [a for a in patient.appointments
                if a.status in ("booked", "confirmed") and a.start > now]
    if state.appointment:
        chosen = [a for a in upcoming if str(a.id) == state.appointment]
        if chosen:
            return chosen[0]
    return min(upcoming, key=lambda a: a.start, default=None)


def pick_slot(text: str, state: CallState, tools: Tools) -> datetime | None:
    offered = [datetime.fromisoformat(s) for s in state.offered]
    if not offered:
        return None
    words = re.findall(r"[a-z0-9]+", normalise_text(text))
    for word in words:
        if word in _ORDINALS:
            index = _ORDINALS[word]
            if index < len(offered):
                return offered[index]
    tz = tools.tenant.timezone
    matches = [s for s in offered
               if say_when(s, tz).split(",")[0].lower() in words
               or (say_when(s, tz).split(" at ")[1].split(":")[0] in words
               and say_when(s, tz).split()[-1].lower() in words)]
    return matches[0] if len(matches) == 1 else None


def reschedule(r: Reply, state: CallState, start: datetime, tools: Tools) -> None:
    appointment = uuid.UUID(str(state.appointment))
    tools.set_appointment(state, appointment, Purpose.SCHEDULING, start=start)
    local = start.astimezone(ZoneInfo(tools.tenant.timezone))
    r.event("appointment_rescheduled", appointment=str(appointment), start=local.isoformat())
    r.say(f"You're all set: your appointment is now on "
          f"{say_when(start, tools.tenant.timezone)}.")
    state.offered = []
    anything_else(r, state)


def next_followup(r: Reply, state: CallState, tools: Tools) -> None:
    questions = tools.profile.followup_questions
    state.followup_index += 1
    if state.followup_index < len(questions):
        ask(r, state, questions[state.followup_index])
        return
    r.say("Thank you, I've passed your answers to your care team.")
    anything_else(r, state)
