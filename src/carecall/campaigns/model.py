"""Outbound campaigns as plain data: what to send, to whom, when, and what happened.

A campaign names a tenant, a purpose, a channel and a message template; its targets are an
explicit list of patient ids or a rule ("booked appointments 24 to 48 hours ahead"). Planning
decides every target with the outbound policy and stores the decision; running turns each
allowed target into attempts, each a durable workflow on the job engine. Nothing here is PHI:
targets are opaque patient ids, numbers are referred to by slot and keyed tag.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from carecall.tenants.model import Purpose


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    VOICE_WITH_SMS_FALLBACK = "voice_with_sms_fallback"


class CampaignState(StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class TargetKind(StrEnum):
    PATIENTS = "patients"
    APPOINTMENTS_AHEAD = "appointments_ahead"


class TargetState(StrEnum):
    """Where one target stands: decided at plan time, then worked through its attempts."""

    ALLOWED = "allowed"  # planned: the policy allowed it
    DENIED = "denied"  # planned: the policy refused it (reasons stored)
    IN_PROGRESS = "in_progress"  # an attempt is queued or in flight
    DONE = "done"  # a final outcome is recorded
    SKIPPED = "skipped"  # refused at dial time, cancelled, or out of attempts / window


class AttemptStatus(StrEnum):
    QUEUED = "queued"  # enqueued on the job engine, not yet checked
    DIALING = "dialing"  # idempotency record written: the REST request may have been sent
    PLACED = "placed"  # the provider accepted it; a call/message sid is known
    FINISHED = "finished"  # an outcome is recorded
    DENIED = "denied"  # the policy refused it at dial time
    CANCELLED = "cancelled"  # the campaign was cancelled (or paused) before it went out
    ERROR = "error"  # the provider refused the request (nothing went out)


class Outcome(StrEnum):
    """What happened to a contact that went out (Twilio call status and the agent's result)."""

    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CONFIRMED = "confirmed"
    OPTED_OUT = "opted_out"
    SENT = "sent"  # a text accepted by the carrier
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


@dataclass(frozen=True)
class TargetRule:
    """Who the campaign is for: listed patients, or booked appointments starting between
    ``hours_from`` and ``hours_to`` hours after the plan runs."""

    kind: TargetKind
    patient_ids: tuple[uuid.UUID, ...] = ()
    hours_from: float = 24.0
    hours_to: float = 48.0


@dataclass(frozen=True)
class RetryRule:
    """How often to try one target, and after which outcomes. The policy's daily limit
    usually pushes a retry to the next local day; ``delay_minutes`` is the least wait."""

    max_attempts: int = 2
    delay_minutes: int = 60
    on: frozenset[Outcome] = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED})


@dataclass(frozen=True)
class Window:
    """When attempts may go out (UTC instants); the policy's calling hours apply within it."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as asked for, before it is stored."""

    purpose: Purpose
    channel: Channel
    template: str
    targets: TargetRule
    window: Window = Window()
    retry: RetryRule = RetryRule()
    label: str = ""
    #: For a voice call: the longest it may last (the FCC's exemption allows 60 s).
    max_duration_s: int = 60


@dataclass(frozen=True)
class Campaign:
    id: uuid.UUID
    tenant_id: uuid.UUID
    spec: CampaignSpec
    state: CampaignState
    created_by: str
    created_at: datetime
    planned_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Target:
    id: uuid.UUID
    campaign_id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID | None
    state: TargetState
    reasons: tuple[str, ...] = ()
    retry_after: datetime | None = None
    phone_slot: int = 0
    #: A keyed, non-reversible tag of the number (per-number rate limit, no PHI).
    number_tag: str = ""
    attempts: int = 0
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Attempt:
    id: uuid.UUID
    campaign_id: uuid.UUID
    target_id: uuid.UUID
    number: int
    channel: Channel
    status: AttemptStatus
    not_before: datetime | None = None
    dial_started_at: datetime | None = None
    provider_sid: str | None = None
    outcome: Outcome | None = None
    reasons: tuple[str, ...] = ()
    reconciled: bool = False
    generation: int = 0


@dataclass(frozen=True)
class PlanSummary:
    campaign_id: uuid.UUID
    targets: int
    allowed: int
    denied: int
    by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: Allowed for later: only calling hours or a contact limit stood in the way now.
    deferred: int = 0


@dataclass(frozen=True)
class Report:
    campaign_id: uuid.UUID
    state: CampaignState
    purpose: Purpose
    channel: Channel
    targets: int
    by_target_state: dict[str, int]
    by_attempt_status: dict[str, int]
    by_outcome: dict[str, int]
    plan_reasons: dict[str, int]
    dial_reasons: dict[str, int]
    attempts: int
    calls_placed: int
    reconciled: int
