"""The rule brain: a deterministic, offline state machine that holds a practice's calls.

Safety cues are checked on every utterance before anything else, in this order: a red flag
(emergency advice and a human at once), a request to stop recording, an opt-out, "are you a
robot?", a request for a human, someone calling about another person. Then the call's phase
decides. PHI is only ever read through ``Tools.patient`` after verification, and each answer
says only what its intent needs (45 CFR 164.502(b), minimum necessary).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from carecall.calls._intents import (
    PURPOSE_OF,
    after_verified,
    fulfil,
    next_followup,
    pick_slot,
    reschedule,
    start_intent,
)
from carecall.calls._replies import (
    ask,
    emergency,
    goodbye,
    handoff,
    lock_out,
    on_silence,
    opt_out,
    stop_recording,
    third_party,
    verification_failed,
    voicemail,
    wrong_party,
)
from carecall.calls.brain import RecordsUnavailable, Reply, Tools
from carecall.calls.model import CallerInput
from carecall.calls.rules import (
    Cue,
    Intent,
    VerifyReason,
    cues,
    intent_of,
    yes_no,
)
from carecall.calls.speech import say_phone
from carecall.calls.state import CallState
from carecall.calls.understand import (
    ASK_BILLING,
    ASK_DOB,
    ASK_SECOND,
    merge,
    read_claims,
)
from carecall.tenants.model import Purpose

LOW_CONFIDENCE = 0.4
MAX_UNCLEAR = 3

#: What an outbound call of each purpose is about once the patient is verified.
OUTBOUND_INTENT: dict[str, str] = {
    Purpose.APPOINTMENT_REMINDER: "reminder",
    Purpose.SCHEDULING: Intent.APPOINTMENT,
    Purpose.WELLNESS_CHECKUP: Intent.RESCHEDULE,
    Purpose.POST_DISCHARGE_FOLLOWUP: Intent.FOLLOWUP,
    Purpose.PRESCRIPTION_NOTIFICATION: Intent.PRESCRIPTION,
    Purpose.LAB_RESULTS: Intent.LABS,
    Purpose.PREOPERATIVE_INSTRUCTIONS: Intent.PREOP,
    Purpose.HOSPITAL_PREREGISTRATION: Intent.PREREGISTRATION,
    Purpose.HOME_HEALTHCARE_INSTRUCTIONS: Intent.HOME_HEALTH,
    Purpose.BILLING_ENQUIRY: Intent.BILLING,
    Purpose.PATIENT_SUPPORT: Intent.APPOINTMENT,
}
_KEYS = {"1": Intent.CONFIRM, "2": Intent.CANCEL, "3": Intent.RESCHEDULE}
WHAT_I_DO = (
    "I can help with appointments, billing balances, prescriptions, lab results, "
    "instructions for your visit, office hours and directions."
)


def _purpose(state: CallState) -> Purpose:
    if state.pending == "reminder":
        return Purpose.APPOINTMENT_REMINDER
    if state.pending is not None and state.pending in Intent.__members__.values():
        return PURPOSE_OF.get(Intent(state.pending), Purpose.PATIENT_SUPPORT)
    return Purpose.PATIENT_SUPPORT


class RuleBrain:
    name = "rule"

    # ---- opening ------------------------------------------------------------------------

    def open(self, state: CallState, tools: Tools) -> Reply:
        r = Reply()
        t = tools.tenant
        phone = say_phone(t.contact_phone)
        if state.direction == "outbound":
            r.say(
                f"Hello, this is {t.agent_name}, an automated AI assistant calling from "
                f"{t.display_name}, phone {phone}."
            )
            ask(r, state, f"May I speak with {state.outbound_first_name}?")
            r.say("To stop automated calls from us, press 9 at any time.")
            state.phase = "outbound_person"
        else:
            r.say(
                f"Hello, you've reached {t.display_name}, phone {phone}. I'm {t.agent_name}, "
                "an automated AI assistant."
            )
            if t.recording_mode == "ask":
                state.recording = "asking"
                state.phase = "recording_consent"
                ask(r, state, "May I record this call for quality purposes? "
                                    "Please say yes or no.")
            else:
                state.phase = "main"
                ask(r, state, "How can I help you today?")
        r.event("ai_disclosed")
        r.event("provider_identified")
        return r

    # ---- every turn ---------------------------------------------------------------------

    def respond(self, state: CallState, caller_input: CallerInput, tools: Tools) -> Reply:
        r = Reply()
        try:
            self._respond(r, state, caller_input, tools)
        except RecordsUnavailable:
            r = Reply()
            r.say("I'm sorry, I can't reach patient records for that right now.")
            handoff(r, state, tools, "records_unavailable")
        return r

    def _respond(self, r: Reply, state: CallState, inp: CallerInput, tools: Tools) -> None:  # noqa: PLR0911, PLR0912
        if inp.kind == "voicemail":
            if state.direction == "outbound":
                voicemail(r, state, tools)
                return
            inp = CallerInput("silence")
        if inp.kind == "silence" or (inp.kind == "speech" and not inp.text.strip()):
            on_silence(r, state, tools)
            return
        state.silences = 0
        if inp.kind == "dtmf":
            self._dtmf(r, state, inp.digits, tools)
            return
        if inp.confidence is not None and inp.confidence < LOW_CONFIDENCE:
            ask(r, state, "Sorry, I didn't catch that. " + state.last_question)
            return
        text = inp.text
        found = cues(text)
        if Cue.RED_FLAG in found:
            emergency(r, state, tools)
            return
        if Cue.STOP_RECORDING in found:
            stop_recording(r, state)
            if state.phase == "recording_consent":
                state.phase = "main"
                ask(r, state, "How can I help you today?")
            else:
                ask(r, state, state.last_question)
            return
        if Cue.OPT_OUT in found:
            opt_out(r, state, tools, "voice")
            return
        if Cue.ROBOT in found:
            r.say(f"Yes, I'm an automated AI assistant for {tools.tenant.display_name}, not a "
                  "person. I can transfer you to our staff at any time.")
            ask(r, state, state.last_question)
            return
        if Cue.HUMAN in found:
            handoff(r, state, tools, "requested")
            return
        if Cue.THIRD_PARTY in found:
            state.third_party = True
        handler = getattr(self, f"_phase_{state.phase}", self._phase_main)
        handler(r, state, text, found, tools)

    # ---- phases -------------------------------------------------------------------------

    def _phase_recording_consent(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        answer = yes_no(text)
        intent = intent_of(text)
        if answer is None and intent is None and state.consent_asks < 1:
            state.consent_asks += 1
            ask(r, state, "Sorry, may I record this call? Please say yes or no.")
            return
        state.phase = "main"
        if answer:
            r.event("recording_consent", granted=True)
            r.event("recording_started")
            r.act("start_recording")
            state.recording = "on"
            r.say("Thank you. This call is now being recorded.")
        else:
            r.event("recording_consent", granted=False)
            state.recording = "declined"
            r.say("Okay, this call will not be recorded.")
        if intent is not None:
            start_intent(r, state, intent, tools)
            return
        ask(r, state, "How can I help you today?")

    def _phase_main(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        intent = intent_of(text)
        if intent is not None:
            state.unclear = 0
            start_intent(r, state, intent, tools)
            return
        if Cue.GOODBYE in found or (state.phase == "anything_else" and yes_no(text) is False):
            goodbye(r, state, tools)
            return
        if state.phase == "anything_else" and yes_no(text):
            state.phase = "main"
            ask(r, state, "What else can I help you with?")
            return
        if state.third_party:
            third_party(r, state, tools)
            return
        state.unclear += 1
        if state.unclear >= MAX_UNCLEAR:
            r.say("I'm sorry, I'm having trouble understanding.")
            handoff(r, state, tools, "not_understood")
            return
        state.phase = "main"
        ask(r, state, f"Sorry, I didn't understand. {WHAT_I_DO} What would you like to do?")

    _phase_anything_else = _phase_main

    def _phase_verify(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        if state.third_party:
            third_party(r, state, tools)
            return
        heard = read_claims(text, state.asked)
        state.claims = merge(state.claims, heard)
        result = tools.verify(state, _purpose(state))
        if result.verified:
            assert result.patient_id is not None
            state.verified = str(result.patient_id)
            state.verified_with = list(result.identifiers)
            state.unclear = 0
            r.event("identity_verified", patient=state.verified,
                    identifiers=list(result.identifiers))
            after_verified(r, state, tools)
            return
        reasons = result.decision.reasons
        if VerifyReason.NO_MATCH in reasons:
            verification_failed(r, state, tools)
            return
        if VerifyReason.RECORD_LOCKED in reasons or VerifyReason.CALL_LOCKED in reasons:
            lock_out(r, state)
            return
        got_something = heard.heard_anything
        if not got_something:
            state.unclear += 1
            if state.unclear >= MAX_UNCLEAR:
                r.say("I'm sorry, I'm having trouble understanding.")
                handoff(r, state, tools, "not_understood")
                return
        if VerifyReason.NO_DOB in reasons:
            state.asked = ASK_DOB
            lead = "Thank you." if got_something else "Sorry, I didn't get that."
            ask(r, state, f"{lead} What is your date of birth?")
        elif VerifyReason.AMBIGUOUS in reasons:
            state.unclear += 1 if got_something else 0
            if state.unclear >= MAX_UNCLEAR:
                handoff(r, state, tools, "not_verified")
                return
            state.asked = ASK_SECOND
            ask(r, state, "Thank you. To find the right record, please also tell me "
                                "your ZIP code or phone number.")
        else:
            state.asked = ASK_SECOND
            ask(r, state, "Thank you. Please also tell me your full name, or your phone "
                                "number, ZIP code or street address.")

    def _phase_billing_verify(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        state.claims = merge(state.claims, read_claims(text, ASK_BILLING))
        decision = tools.verify_billing(state)
        if decision.allowed:
            state.billing_verified = True
            r.event("billing_verified", patient=state.verified)
            fulfil(r, state, Intent.BILLING, tools)
            return
        if VerifyReason.BILLING_NO_MATCH in decision.reasons:
            verification_failed(r, state, tools, billing=True)
            return
        if Cue.GOODBYE in found:
            goodbye(r, state, tools)
            return
        state.unclear += 1
        if state.unclear >= MAX_UNCLEAR:
            handoff(r, state, tools, "not_understood")
            return
        ask(r, state, "Please tell me the date of your most recent visit, or an invoice "
                            "number.")

    def _phase_offer_human(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        answer = yes_no(text)
        if answer:
            reason = "locked_out" if state.locked else (
                "third_party" if state.third_party else "requested")
            handoff(r, state, tools, reason)
            return
        if answer is False or Cue.GOODBYE in found:
            r.say(f"Okay. You can reach us at {say_phone(tools.tenant.contact_phone)}.")
            goodbye(r, state, tools)
            return
        intent = intent_of(text)
        if intent in (Intent.HOURS, Intent.DIRECTIONS):
            start_intent(r, state, intent, tools)
            return
        ask(r, state, "Would you like me to transfer you to a member of our staff? "
                            "Please say yes or no.")

    def _phase_appointment_action(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        intent = intent_of(text)
        if intent in (Intent.CONFIRM, Intent.CANCEL, Intent.RESCHEDULE):
            fulfil(r, state, intent, tools)
            return
        if yes_no(text) is False or Cue.GOODBYE in found:
            state.phase = "anything_else"
            ask(r, state, "Okay. Is there anything else I can help you with?")
            return
        if intent is not None:
            start_intent(r, state, intent, tools)
            return
        ask(r, state, "Would you like to confirm, cancel or reschedule it?")

    def _phase_confirm_cancel(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        answer = yes_no(text)
        if answer is None:
            ask(r, state, "Please say yes to cancel it, or no to keep it.")
            return
        appointment = uuid.UUID(str(state.appointment))
        if answer:
            tools.set_appointment(state, appointment, Purpose.SCHEDULING, status="cancelled")
            r.event("appointment_cancelled", appointment=str(appointment))
            r.say("Your appointment has been cancelled.")
        else:
            r.say("Okay, I've kept your appointment.")
        state.phase = "anything_else"
        ask(r, state, "Is there anything else I can help you with?")

    def _phase_choose_slot(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        choice = pick_slot(text, state, tools)
        if choice is None:
            if yes_no(text) is False or Cue.GOODBYE in found:
                state.phase = "anything_else"
                ask(r, state, "Okay, I've left your appointment as it is. Is there "
                                    "anything else I can help you with?")
                return
            state.unclear += 1
            if state.unclear >= MAX_UNCLEAR:
                handoff(r, state, tools, "not_understood")
                return
            ask(r, state, "Which time would you like? You can say the first, second or "
                                "third one.")
            return
        reschedule(r, state, choice, tools)

    def _phase_followup(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        # Red flags were caught before the phase; an ordinary answer moves on.
        next_followup(r, state, tools)

    def _phase_outbound_person(
        self, r: Reply, state: CallState, text: str, found: frozenset[Cue], tools: Tools
    ) -> None:
        answer = yes_no(text)
        if Cue.HOLD in found and not answer:
            ask(r, state, "Of course, I'll wait.")
            state.last_question = f"Hello, may I speak with {state.outbound_first_name}?"
            return
        if state.third_party or Cue.WRONG_PARTY in found or answer is False:
            wrong_party(r, state, tools)
            return
        if answer:
            state.phase = "verify"
            state.asked = ASK_DOB
            state.pending = OUTBOUND_INTENT.get(str(state.outbound_purpose), Intent.APPOINTMENT)
            ask(r, state, "Thank you. To protect your privacy, please tell me your date "
                                "of birth.")
            return
        state.unclear += 1
        if state.unclear >= MAX_UNCLEAR:
            wrong_party(r, state, tools)
            return
        ask(r, state, f"Sorry, may I speak with {state.outbound_first_name}?")

    def _dtmf(self, r: Reply, state: CallState, digits: str, tools: Tools) -> None:
        key = digits[:1]
        if key == "9" and state.direction == "outbound":
            opt_out(r, state, tools, "dtmf")
            return
        if key == "0":
            handoff(r, state, tools, "requested")
            return
        if state.phase == "appointment_action" and key in _KEYS:
            fulfil(r, state, _KEYS[key], tools)
            return
        if state.phase == "choose_slot" and key in ("1", "2", "3"):
            offered = state.offered
            if int(key) <= len(offered):
                reschedule(r, state, datetime.fromisoformat(offered[int(key) - 1]), tools)
                return
        ask(r, state, "Sorry, that key isn't an option. " + state.last_question)















