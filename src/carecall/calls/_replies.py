"""The rule brain's replies that end, hand off or steer a call: silence, emergencies,
recording stops, opt-outs, voicemail, wrong parties, third parties, failed verification,
lockouts, hand-offs and goodbyes. Each appends to a ``Reply`` and updates the state."""

from __future__ import annotations

from carecall.calls.brain import Reply, Tools
from carecall.calls.rules import Claims, call_locked
from carecall.calls.speech import say_phone
from carecall.calls.state import CallState
from carecall.calls.understand import ASK_DOB, ASK_IDENTITY

MAX_SILENCES = 2


def on_silence(r: Reply, state: CallState, tools: Tools) -> None:
    state.silences += 1
    if state.silences > MAX_SILENCES:
        r.say("I haven't heard a response, so I'll end this call now. If you need us, "
              f"please call {tools.tenant.display_name} at "
              f"{say_phone(tools.tenant.contact_phone)}. Goodbye.")
        end_call(r, state, "completed")
        return
    ask(r, state, "Are you still there? " + state.last_question)


def emergency(r: Reply, state: CallState, tools: Tools) -> None:
    r.say("If this is a medical emergency, please hang up and call 911 now.")
    handoff(r, state, tools, "red_flag")


def stop_recording(r: Reply, state: CallState) -> None:
    if state.recording == "on":
        state.recording = "stopped"
        r.act("stop_recording")
        r.event("recording_stopped")
        r.say("Okay, I've stopped recording this call.")
    elif state.recording == "asking":
        state.recording = "declined"
        r.event("recording_consent", granted=False)
        r.say("Okay, this call will not be recorded.")
    else:
        r.say("This call is not being recorded.")


def opt_out(r: Reply, state: CallState, tools: Tools, channel: str) -> None:
    tools.opt_out(state, channel)
    r.event("opt_out", channel=channel)
    r.say(f"Understood. You won't receive further automated calls from "
          f"{tools.tenant.display_name}. If you need us, please call "
          f"{say_phone(tools.tenant.contact_phone)}. Goodbye.")
    end_call(r, state, "opted_out")


def voicemail(r: Reply, state: CallState, tools: Tools) -> None:
    t = tools.tenant
    r.say(f"Hello, this is a message from {t.display_name}. Please call us back at "
          f"{say_phone(t.contact_phone)}. Thank you.")
    r.event("voicemail_left")
    end_call(r, state, "voicemail")


def wrong_party(r: Reply, state: CallState, tools: Tools) -> None:
    t = tools.tenant
    r.say(f"Thank you. This is {t.display_name}; we can be reached at "
          f"{say_phone(t.contact_phone)}. Goodbye.")
    end_call(r, state, "completed")


def third_party(r: Reply, state: CallState, tools: Tools) -> None:
    r.say("I'm sorry, I can only discuss a patient's information with the patient. The "
          f"patient can call us at {say_phone(tools.tenant.contact_phone)}, or I can "
          "transfer you to a member of our staff.")
    offer_human(r, state, "Would you like me to transfer you?")


def verification_failed(r: Reply, state: CallState, tools: Tools, *, billing: bool = False) -> None:
    r.event("identity_failed", attempt=state.failures)
    state.claims = Claims()
    if state.locked or call_locked(state.failures):
        lock_out(r, state)
        return
    if billing:
        state.phase = "billing_verify"
        ask(r, state, "I'm sorry, I couldn't verify that. Please tell me the date of "
                            "your most recent visit, or an invoice number.")
        return
    state.phase = "verify"
    if state.direction == "outbound":
        state.asked = ASK_DOB
        ask(r, state, "I'm sorry, I couldn't verify that. Please tell me your date of "
                            "birth again.")
        return
    state.asked = ASK_IDENTITY
    ask(r, state, "I'm sorry, I couldn't verify those details. Please tell me your "
                        "full name and date of birth again.")


def lock_out(r: Reply, state: CallState) -> None:
    state.locked = True
    state.verified = None
    r.event("locked_out")
    r.say("I'm sorry, I wasn't able to verify your identity, so I can't help with account "
          "details on this call.")
    offer_human(r, state, "Would you like me to transfer you to a member of our "
                                "staff?")


def lock_offer(r: Reply, state: CallState) -> None:
    r.say("I'm sorry, I can't help with account details on this call.")
    offer_human(r, state, "Would you like me to transfer you to a member of our "
                                "staff?")


def offer_human(r: Reply, state: CallState, question: str) -> None:
    state.phase = "offer_human"
    ask(r, state, question)


def handoff(r: Reply, state: CallState, tools: Tools, reason: str) -> None:
    target = tools.tenant.staff_phone or tools.tenant.contact_phone
    r.event("handoff", reason=reason)
    r.say("I'm transferring you to a member of our staff now. Please hold.")
    r.act("transfer", target)
    state.phase = "ended"
    r.outcome = "locked_out" if state.locked else "handoff"
    state.outcome = r.outcome


def goodbye(r: Reply, state: CallState, tools: Tools) -> None:
    r.say(f"Thank you for calling {tools.tenant.display_name}. Goodbye.")
    end_call(r, state, "locked_out" if state.locked else "completed")


def end_call(r: Reply, state: CallState, outcome: str) -> None:
    r.act("hangup")
    state.phase = "ended"
    r.outcome = outcome  # type: ignore[assignment]
    state.outcome = outcome


def anything_else(r: Reply, state: CallState) -> None:
    state.phase = "anything_else"
    ask(r, state, "Is there anything else I can help you with?")


def ask(r: Reply, state: CallState, question: str) -> None:
    r.say(question)
    state.last_question = question
