"""Plain data of the outbound policy: who is contacted, by whom, how, and what it decided.

Everything here is a frozen dataclass of plain values (timezone-aware datetimes, strings,
tuples), so the campaign planner, the dial-time check and the ``carecall policy check``
command build the same input and get the same answer. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from carecall.core.decision import Decision


def _aware(value: datetime) -> datetime:
    """A naive datetime is UTC by the project's convention (SQLite reads back naive UTC,
    ``core.clock.ensure_utc``); comparing naive with aware would otherwise fail mid-rule."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Reason(StrEnum):
    """Why a contact is refused. The names are a stable contract (compliance teams script
    against them); they are listed, and reported, in this order."""

    NO_ACTIVE_BAA = "NO_ACTIVE_BAA"
    PURPOSE_NOT_PERMITTED = "PURPOSE_NOT_PERMITTED"
    PURPOSE_NOT_ALLOWED = "PURPOSE_NOT_ALLOWED"
    NO_WRITTEN_CONSENT = "NO_WRITTEN_CONSENT"
    NUMBER_NOT_PROVIDED_BY_PATIENT = "NUMBER_NOT_PROVIDED_BY_PATIENT"
    NOT_SMS_CAPABLE = "NOT_SMS_CAPABLE"
    OPTED_OUT = "OPTED_OUT"
    DNC = "DNC"
    OUTSIDE_CALLING_HOURS = "OUTSIDE_CALLING_HOURS"
    DAILY_LIMIT = "DAILY_LIMIT"
    WEEKLY_LIMIT = "WEEKLY_LIMIT"
    CALL_TOO_LONG = "CALL_TOO_LONG"
    SMS_TOO_LONG = "SMS_TOO_LONG"
    CONTENT_HAS_IDENTIFIERS = "CONTENT_HAS_IDENTIFIERS"
    OPT_OUT_NOTICE_MISSING = "OPT_OUT_NOTICE_MISSING"
    PROVIDER_ID_MISSING = "PROVIDER_ID_MISSING"
    CONTENT_PROHIBITED = "CONTENT_PROHIBITED"


#: Reasons that only the passage of time can clear; ``retry_after`` is given only when every
#: reason of a denial is one of these.
TIME_REASONS = frozenset({Reason.OUTSIDE_CALLING_HOURS, Reason.DAILY_LIMIT, Reason.WEEKLY_LIMIT})


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"


class LineType(StrEnum):
    WIRELESS = "wireless"
    LANDLINE = "landline"


class ConsentKind(StrEnum):
    AUTOMATED_CALLS = "automated_calls"
    TEXT_MESSAGES = "text_messages"
    RECORDING = "recording"


class ConsentForm(StrEnum):
    WRITTEN = "written"
    VERBAL = "verbal"


@dataclass(frozen=True, slots=True)
class TenantFacts:
    """The practice sending: its name and number (which texts must carry and may contain),
    whether a BAA is in force, what it permits, and its own (lower) contact limits."""

    name: str
    contact_phone: str
    baa_active: bool
    permitted_purposes: frozenset[str]
    #: None means the FCC's limit; a higher value than the FCC's is clamped to it.
    daily_limit: int | None = None
    weekly_limit: int | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    kind: ConsentKind
    form: ConsentForm
    given_at: datetime
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "given_at", _aware(self.given_at))
        if self.revoked_at is not None:
            object.__setattr__(self, "revoked_at", _aware(self.revoked_at))


@dataclass(frozen=True, slots=True)
class OptOut:
    at: datetime
    channel: Channel

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware(self.at))


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """The patient's own identifiers, so a message that names them is caught."""

    first_name: str | None = None
    last_name: str | None = None
    dob: date | None = None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """The number to be contacted and everything on record about it."""

    phone: str
    line_type: LineType
    provided_by_patient: bool
    #: IANA zone of the patient; None: use every zone of the number (phonenumbers' data).
    timezone: str | None = None
    consents: tuple[Consent, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    on_internal_dnc: bool = False
    patient: PatientFacts = PatientFacts()


@dataclass(frozen=True, slots=True)
class PastContact:
    """A call or text already made to this patient by this practice (any purpose)."""

    channel: Channel
    at: datetime
    purpose: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _aware(self.at))


@dataclass(frozen=True, slots=True)
class Message:
    """What would be sent: the SMS body or the automated call's script."""

    channel: Channel
    purpose: str
    automated: bool = True
    text: str = ""
    #: The call's declared maximum length in seconds (voice only).
    max_duration_s: float | None = None
    #: The appointment the message is about: its own day and time may appear in the text.
    appointment_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.appointment_at is not None:
            object.__setattr__(self, "appointment_at", _aware(self.appointment_at))


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    now: datetime
    tenant: TenantFacts
    contact: ContactFacts
    message: Message
    history: tuple[PastContact, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", _aware(self.now))


@dataclass(frozen=True)
class PolicyDecision(Decision):
    """A ``Decision`` with the earliest instant (UTC) at which a denied contact would pass,
    given only when the calling-hours and contact-limit rules are all that stand in the way."""

    retry_after: datetime | None = None

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"
