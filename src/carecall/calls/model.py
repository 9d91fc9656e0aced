"""A call as plain data: what the caller gave, what the agent answers, what happened.

These types are the seam between the channel adapters (Twilio voice, the simulator, the
``call script`` runner) and the conversation engine: an adapter turns its request into a
``CallerInput``, the call service returns a ``Step``, the adapter renders it (TwiML, a
terminal line, a JSON timeline). Nothing here does I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

InputKind = Literal["speech", "dtmf", "silence", "voicemail"]
ActionKind = Literal["listen", "transfer", "start_recording", "stop_recording", "hangup"]
Direction = Literal["inbound", "outbound"]
Outcome = Literal[
    "completed", "handoff", "locked_out", "opted_out", "voicemail", "caller_hung_up"
]


@dataclass(frozen=True)
class CallerInput:
    """One thing the caller did in answer to the agent's last utterance."""

    kind: InputKind
    text: str = ""
    confidence: float | None = None
    digits: str = ""

    @classmethod
    def speech(cls, text: str, confidence: float | None = None) -> CallerInput:
        return cls("speech", text=text, confidence=confidence)

    @classmethod
    def dtmf(cls, digits: str) -> CallerInput:
        return cls("dtmf", digits=digits)


@dataclass(frozen=True)
class CallEvent:
    """Something that happened on the call, in the ``call script`` timeline's vocabulary
    (``ai_disclosed``, ``identity_verified`` {patient, identifiers}, ``handoff`` {reason}...).
    ``fields`` carries ids and codes, never PHI."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    #: For ``transfer``: the E.164 number to dial (the tenant's staff line).
    target: str | None = None


@dataclass(frozen=True)
class Step:
    """The agent's answer to one input: what to say (already through the disclosure guard),
    what the channel must do, and what happened. ``outcome`` is set when the call ends."""

    say: str
    actions: tuple[Action, ...] = ()
    events: tuple[CallEvent, ...] = ()
    outcome: Outcome | None = None
    #: Where the utterance falls among ``events``: events before it happened on the
    #: caller's input, events from it on belong to what was said (disclosures).
    spoken_at: int | None = None

    @property
    def ends_call(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True)
class OutboundRequest:
    """What an outbound call is for: the patient asked for, the purpose and, for a reminder,
    the appointment. The number dialled counts as the phone identifier."""

    patient_id: uuid.UUID
    purpose: str
    appointment_id: uuid.UUID | None = None
