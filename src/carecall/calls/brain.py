"""The seam between the call service and whatever understands the caller.

A brain turns one caller input into a ``Reply`` (what to say, what the channel must do, what
happened). It never reaches PHI on its own: everything it learns about patients comes from
``Tools``, and the tools enforce verification (``patient`` refuses until the caller is
verified), log every read through the patient service and count failures. Every utterance a
brain produces still passes the disclosure guard before it is spoken. The rule brain ships
now; an LLM brain (which will see tokens, never raw PHI) plugs in through ``register``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from carecall.calls.model import Action, CallerInput, CallEvent, Outcome
from carecall.calls.rules import Verification
from carecall.calls.state import CallState
from carecall.core.decision import Decision
from carecall.patients.model import Patient
from carecall.tenants.model import Purpose, Tenant


class RecordsUnavailable(Exception):
    """The practice's records cannot be used now (no BAA in force for the purpose)."""


@dataclass(frozen=True)
class CallProfile:
    """The practice's own words for the agent: never PHI, written by the practice."""

    hours: str | None = None
    directions: str | None = None
    #: Keys: ``preregistration``, ``preop``, ``home_health``.
    instructions: dict[str, str] = field(default_factory=dict)
    followup_questions: tuple[str, ...] = ()


@dataclass
class Reply:
    """Built by a brain: events before the utterance happened on the caller's input, events
    after it belong to what was said (disclosures)."""

    say_parts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    events: list[CallEvent] = field(default_factory=list)
    spoken_at: int | None = None
    outcome: Outcome | None = None

    @property
    def text(self) -> str:
        return " ".join(p.strip() for p in self.say_parts if p.strip())

    def say(self, text: str) -> None:
        if self.spoken_at is None:
            self.spoken_at = len(self.events)
        self.say_parts.append(text)

    def event(self, kind: str, **fields: Any) -> None:
        self.events.append(CallEvent(kind, dict(fields)))

    def act(self, kind: Any, target: str | None = None) -> None:
        self.actions.append(Action(kind, target))


class Tools(Protocol):
    """What a brain may do to the world; implemented by the call service."""

    tenant: Tenant

    @property
    def profile(self) -> CallProfile: ...

    def now(self) -> datetime: ...

    def verify(self, state: CallState, purpose: Purpose) -> Verification: ...

    def verify_billing(self, state: CallState) -> Decision: ...

    def patient(self, state: CallState, purpose: Purpose) -> Patient: ...

    def open_slots(self, limit: int) -> list[datetime]: ...

    def set_appointment(
        self,
        state: CallState,
        appointment_id: uuid.UUID,
        purpose: Purpose,
        *,
        status: str | None = None,
        start: datetime | None = None,
    ) -> None: ...

    def opt_out(self, state: CallState, channel: str) -> None: ...


class Brain(Protocol):
    name: str

    def open(self, state: CallState, tools: Tools) -> Reply: ...

    def respond(self, state: CallState, caller_input: CallerInput, tools: Tools) -> Reply: ...


_BRAINS: dict[str, Callable[[], Brain]] = {}


def register(name: str, factory: Callable[[], Brain]) -> None:
    _BRAINS[name] = factory


def brain_named(name: str) -> Brain:
    if "rule" not in _BRAINS:
        from carecall.calls.rule_brain import RuleBrain

        register("rule", RuleBrain)
    factory = _BRAINS.get(name)
    if factory is None:
        from carecall.core.errors import ConfigError

        raise ConfigError(f"Unknown call brain '{name}'; known: {', '.join(sorted(_BRAINS))}.")
    return factory()
