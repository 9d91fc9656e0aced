"""Hand-offs as plain data: a call the AI agent handed to a human, as the queue shows it.

The queue carries no PHI: the call's id, why it was handed off, when, on which channel, and
whether the caller had been verified (a flag, not who). The patient's id is given only to
the user who takes the call, in the assignment (``access.model.Assignment``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from carecall.access.model import Assignment


class HandoffStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    DONE = "done"


class EndReason(StrEnum):
    """Why an assignment ended (stored, audited)."""

    RELEASED = "released"
    COMPLETED = "completed"
    REASSIGNED = "reassigned"
    EXPIRED = "expired"


@dataclass(frozen=True)
class HandoffItem:
    call_id: uuid.UUID
    reason: str
    at: datetime
    channel: str
    direction: str
    verified: bool
    status: HandoffStatus
    #: The open assignment, when the call is claimed (ids and times only).
    assignment: Assignment | None = None


@dataclass(frozen=True)
class Identified:
    """A claim whose caller the human identified: the assignment now naming the patient,
    which identifiers matched (names such as "dob", never values), and whether the billing
    identifier matched too."""

    assignment: Assignment
    identifiers: tuple[str, ...]
    billing_verified: bool
