"""Voice legs and recordings as plain data (no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

LegState = Literal["placed", "active", "ended"]
RecordingState = Literal["pending", "stored", "failed"]
RedactionState = Literal["pending", "done"]

#: Call statuses after which Twilio sends nothing more for the call.
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
#: ``AnsweredBy`` values meaning nobody live picked up (answering-machine detection).
MACHINE_ANSWERS = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"})


@dataclass(frozen=True)
class VoiceLeg:
    """Carecall's side of one Twilio call: which tenant, which turn is expected next, and for
    an outbound call who and what it is for. Holds ids and codes only, no PHI."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    direction: Literal["inbound", "outbound"]
    state: LegState
    turn: int
    call_sid: str | None = None
    patient_id: uuid.UUID | None = None
    purpose: str | None = None
    appointment_id: uuid.UUID | None = None
    final_status: str | None = None
    answered_by: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Recording:
    """A call recording's metadata; the audio itself stays encrypted in the store."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    leg_id: uuid.UUID
    recording_sid: str
    subject_id: uuid.UUID
    state: RecordingState
    redaction: RedactionState
    duration_s: int | None
    size_bytes: int | None
    created_at: datetime
    stored_at: datetime | None
    deleted_remote_at: datetime | None
