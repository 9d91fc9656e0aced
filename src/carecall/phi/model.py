"""Plain data of PHI detection: labels, spans and the context a detector may use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Label(StrEnum):
    """The HIPAA Safe Harbor identifiers, 45 CFR 164.514(b)(2)(i)(A)-(R), as carecall labels.

    ADDRESS is every geographic subdivision smaller than a state (164.514(b)(2)(i)(B)); DATE
    is every element of a date except the year (164.514(b)(2)(i)(C)); AGE is an age over 89.
    """

    NAME = "NAME"
    ADDRESS = "ADDRESS"
    DATE = "DATE"
    AGE = "AGE"
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    SSN = "SSN"
    MRN = "MRN"
    HEALTH_PLAN_ID = "HEALTH_PLAN_ID"
    ACCOUNT_NUMBER = "ACCOUNT_NUMBER"
    LICENSE_NUMBER = "LICENSE_NUMBER"
    VEHICLE_ID = "VEHICLE_ID"
    DEVICE_ID = "DEVICE_ID"
    URL = "URL"
    IP_ADDRESS = "IP_ADDRESS"
    OTHER_ID = "OTHER_ID"


@dataclass(frozen=True, slots=True)
class Span:
    """``text == source[start:end]``; offsets are Python string indices."""

    start: int
    end: int
    label: Label
    text: str

    def as_json(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "label": str(self.label), "text": self.text}


@dataclass(frozen=True, slots=True)
class KnownIdentifiers:
    """What the call already knows about the patient, so near-misses of it are caught."""

    names: Sequence[str] = ()
    dob: date | None = None
    phones: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class DetectContext:
    previous_agent_text: str | None = None
    known: KnownIdentifiers = field(default_factory=KnownIdentifiers)
