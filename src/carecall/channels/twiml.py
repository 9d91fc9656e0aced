"""TwiML for the engine's steps, built with the twilio SDK (no I/O).

A step's text is spoken inside the ``<Gather>`` when the agent listens next, so a caller may
answer before the agent finishes (barge-in). The ``<Gather>`` action URL carries the number of
the turn it answers: a replayed or duplicated answer names a turn that has already been taken
and is refused without touching the conversation (see ``voice.take_turn``).
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, Start, VoiceResponse

from carecall.calls.model import Step

UNKNOWN_NUMBER = (
    "Sorry, this number is not set up to take calls yet. Please check the number and call "
    "your practice again. Goodbye."
)
TECHNICAL_TROUBLE = (
    "Sorry, we are having technical trouble. Please call your practice again in a few "
    "minutes. Goodbye."
)
STALE_TURN = "Sorry, I missed that. Could you say it again?"


@dataclass(frozen=True)
class Urls:
    """Where Twilio sends what comes next: built by the edge from the public base URL."""

    gather: str
    recording_status: str


def render(step: Step, urls: Urls, *, staff_phone: str | None, recording: bool = False) -> str:
    """The TwiML document for ``step``. ``recording``: start a recording before speaking."""
    response = VoiceResponse()
    kinds = [a.kind for a in step.actions]
    if recording or "start_recording" in kinds:
        start = Start()
        start.recording(recording_status_callback=urls.recording_status,
                        recording_status_callback_event="completed absent",
                        recording_status_callback_method="POST", track="both")
        response.append(start)
    transfer = next((a for a in step.actions if a.kind == "transfer"), None)
    # Listening is the default: only an ended call, a transfer or a hang-up stops it.
    if not step.ends_call and transfer is None and "hangup" not in kinds:
        gather = _gather(urls.gather)
        if step.say:
            gather.say(step.say)
        response.append(gather)
        # No answer at all still posts (actionOnEmptyResult), but if Twilio ever falls
        # through, ask again through the same turn rather than dropping the caller.
        response.redirect(urls.gather, method="POST")
        return str(response)
    if step.say:
        response.say(step.say)
    target = (transfer.target if transfer and transfer.target else None) or staff_phone
    if transfer is not None and target:
        response.dial(target)
    response.hangup()
    return str(response)


def _gather(action: str) -> Gather:
    # No speechModel: Twilio refuses speechTimeout="auto" with an explicit model (warning
    # 13335), and "auto" (end of speech detected by Twilio) keeps turns short.
    return Gather(input="speech dtmf", action=action, method="POST", speech_timeout="auto",
                  action_on_empty_result=True, language="en-US")


def listen_again(say: str, urls: Urls) -> str:
    """A neutral prompt that listens for the given turn (no PHI in ``say``)."""
    response = VoiceResponse()
    gather = _gather(urls.gather)
    gather.say(say)
    response.append(gather)
    return str(response)


def goodbye(say: str = "") -> str:
    response = VoiceResponse()
    if say:
        response.say(say)
    response.hangup()
    return str(response)
