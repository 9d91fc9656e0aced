"""Pure hand-off decisions: who the caller was verified as, where a call stands in the
queue, and whether it may be claimed now. Reason codes are the API's error codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from carecall.access.model import Assignment
from carecall.access.rules import HANDOFF_MAX, assignment_active
from carecall.core.decision import ALLOW, Decision, deny
from carecall.handoffs.model import EndReason, HandoffStatus


class HandoffReason(StrEnum):
    #: Another user holds an active assignment for the call.
    HANDOFF_CLAIMED = "HANDOFF_CLAIMED"
    #: The call's hand-off was completed; it is out of the queue.
    HANDOFF_DONE = "HANDOFF_DONE"
    #: Release / complete: no open assignment for the call.
    HANDOFF_NOT_CLAIMED = "HANDOFF_NOT_CLAIMED"


def verified_patient(events: Iterable[tuple[str, dict[str, Any]]]) -> uuid.UUID | None:
    """The patient the caller was verified as when the call was handed off: the last
    ``identity_verified`` event, unless a ``locked_out`` came after it (the engine drops
    the verification then). Events in call order."""
    patient: uuid.UUID | None = None
    for kind, fields in events:
        if kind == "identity_verified" and fields.get("patient"):
            patient = uuid.UUID(str(fields["patient"]))
        elif kind == "locked_out":
            patient = None
    return patient


def open_assignment(assignments: Iterable[Assignment]) -> Assignment | None:
    """The call's assignment not yet ended (at most one: the store enforces it)."""
    return next((a for a in assignments if a.ended_at is None), None)


def status_of(assignments: Sequence[Assignment], now: datetime) -> HandoffStatus:
    if any(a.end_reason == EndReason.COMPLETED for a in assignments):
        return HandoffStatus.DONE
    current = open_assignment(assignments)
    if current is not None and assignment_active(current, now):
        return HandoffStatus.CLAIMED
    return HandoffStatus.WAITING


def may_claim(assignments: Sequence[Assignment], now: datetime) -> Decision:
    """A call may be claimed while waiting: not completed, and no one else holds it (an
    assignment past its expiry no longer holds it)."""
    status = status_of(assignments, now)
    if status is HandoffStatus.DONE:
        return deny(HandoffReason.HANDOFF_DONE)
    if status is HandoffStatus.CLAIMED:
        return deny(HandoffReason.HANDOFF_CLAIMED)
    return ALLOW


def may_end(assignments: Sequence[Assignment], user_id: uuid.UUID,
            manager: bool) -> Decision:
    """Release or complete: the open assignment's own user may, a supervisor (``manager``)
    may end anyone's. An expired but not ended assignment can still be closed by them."""
    current = open_assignment(assignments)
    if current is None:
        done = any(a.end_reason == EndReason.COMPLETED for a in assignments)
        return deny(HandoffReason.HANDOFF_DONE if done else HandoffReason.HANDOFF_NOT_CLAIMED)
    if current.agent_id != user_id and not manager:
        return deny(HandoffReason.HANDOFF_CLAIMED)
    return ALLOW


def expiry(now: datetime) -> datetime:
    return now + HANDOFF_MAX
