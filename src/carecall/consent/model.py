"""The consent ledger as plain data: consents, opt-outs, the do-not-call list, contacts.

Kinds and forms of consent are the outbound policy's own (``policy.model``), so the ledger
hands the policy its facts without translation. Phone numbers appear here in E.164 only in
memory; at rest they are a blind index plus a ciphertext (``consent.store``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from carecall.policy.model import Channel, ConsentForm, ConsentKind

__all__ = [
    "Channel",
    "Consent",
    "ConsentForm",
    "ConsentInput",
    "ConsentKind",
    "ConsentSource",
    "Contact",
    "DncEntry",
    "Evidence",
    "EvidenceKind",
    "InboundKind",
    "InboundResult",
    "OptOut",
    "OptOutScope",
    "OptOutSource",
    "Review",
    "ReviewStatus",
]


class EvidenceKind(StrEnum):
    """What proves a consent (47 CFR 64.1200(f)(9): a signed writing; E-SIGN Act signatures
    count)."""

    SIGNED_FORM = "signed_form"  # the scanned or uploaded form itself, stored encrypted
    E_SIGNATURE = "e_signature"  # a reference to an e-signature record
    VERBAL_RECORDING = "verbal_recording"  # a reference to a recorded verbal consent


class ConsentSource(StrEnum):
    CONSOLE = "console"
    API = "api"
    CLI = "cli"
    IMPORT = "import"
    VOICE_AGENT = "voice_agent"
    DEMO = "demo"


class OptOutSource(StrEnum):
    """Every "reasonable means" of revocation carecall receives (64.1200(a)(10))."""

    SMS_KEYWORD = "sms_keyword"
    SMS_TEXT = "sms_text"  # a plain-language or unclear text message
    VOICE_AGENT = "voice_agent"
    CONSOLE = "console"
    API = "api"
    CLI = "cli"


class OptOutScope(StrEnum):
    """What the person asked to stop; the policy blocks every automated contact whatever
    the scope (FCC 24-24), the scope only decides what START lifts."""

    ALL = "all"
    TEXTS = "texts"
    CALLS = "calls"


class InboundKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_OUT_UNCLEAR = "opt_out_unclear"  # treated as an opt-out and queued for a human
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"  # a human agreed it was a revocation: the opt-out stays
    DISMISSED = "dismissed"  # a human found it was not: the opt-out is lifted


@dataclass(frozen=True)
class InboundResult:
    """How an inbound text was read: what to do, why (a stable reason code for audit and
    review), and which keyword matched (keywords are not PHI; the text itself is)."""

    kind: InboundKind
    reason: str
    scope: OptOutScope = OptOutScope.ALL
    keyword: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Proof of a consent. ``document`` (a signed form's bytes) and ``reference`` are
    encrypted under the patient's key; only ``kind`` is stored in the clear."""

    kind: EvidenceKind
    reference: str | None = None
    document: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class ConsentInput:
    patient_id: uuid.UUID
    phone: str
    kind: ConsentKind
    form: ConsentForm
    given_at: datetime
    source: ConsentSource
    evidence: Evidence | None = None


@dataclass(frozen=True)
class Consent:
    id: uuid.UUID
    patient_id: uuid.UUID
    phone: str
    kind: ConsentKind
    form: ConsentForm
    given_at: datetime
    source: str
    revoked_at: datetime | None = None
    revoked_source: str | None = None
    evidence_kind: EvidenceKind | None = None

    def active(self, now: datetime) -> bool:
        return self.given_at <= now and (self.revoked_at is None or self.revoked_at > now)


@dataclass(frozen=True)
class OptOut:
    id: uuid.UUID
    phone: str | None
    patient_id: uuid.UUID | None
    channel: Channel
    scope: OptOutScope
    source: OptOutSource
    reason: str
    at: datetime
    lifted_at: datetime | None = None
    confirmed: bool = False


@dataclass(frozen=True)
class Review:
    """An unclear message treated as an opt-out, waiting for a human to confirm it."""

    id: uuid.UUID
    opt_out_id: uuid.UUID
    reason: str
    status: ReviewStatus
    created_at: datetime
    text: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class DncEntry:
    id: uuid.UUID
    phone: str
    source: str
    added_at: datetime


@dataclass(frozen=True)
class Contact:
    """One call or text made to a patient (the policy's history input)."""

    id: uuid.UUID
    patient_id: uuid.UUID
    channel: Channel
    purpose: str
    at: datetime
    outcome: str
    automated: bool = True
    provider_sid: str | None = None
    ref: str | None = None


#: Contact outcomes that mean nothing reached the patient's carrier: such rows do not count
#: towards the daily and weekly limits.
NOT_SENT_OUTCOMES = frozenset({"error", "cancelled"})


@dataclass(frozen=True)
class OptOutResult:
    """What ``record_opt_out`` did: ``recorded`` False for a repeat while one is already in
    force; ``confirm`` True exactly once per opt-out (send the one confirmation text)."""

    opt_out_id: uuid.UUID | None
    recorded: bool
    confirm: bool
    review_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DncImportResult:
    added: int
    already_listed: int
