"""Pure hand-off decisions: who the caller was verified as, where a call stands in the
queue, whether it may be claimed now, and whether the identifiers a caller stated to the
human who took the call identify one patient. Reason codes are the API's error codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from carecall.access.model import Assignment
from carecall.access.rules import HANDOFF_MAX, assignment_active
from carecall.calls.rules import (
    MAX_CALL_FAILURES,
    Claims,
    Identity,
    VerifyReason,
    verify,
    verify_billing,
)
from carecall.core.decision import ALLOW, Decision, deny
from carecall.handoffs.model import EndReason, HandoffStatus


class HandoffReason(StrEnum):
    #: Another user holds an active assignment for the call.
    HANDOFF_CLAIMED = "HANDOFF_CLAIMED"
    #: The call's hand-off was completed; it is out of the queue.
    HANDOFF_DONE = "HANDOFF_DONE"
    #: Release / complete: no open assignment for the call.
    HANDOFF_NOT_CLAIMED = "HANDOFF_NOT_CLAIMED"
    #: Identify: the user's own claim on the call ran out; claim the call again.
    HANDOFF_CLAIM_EXPIRED = "HANDOFF_CLAIM_EXPIRED"
    #: Identify: the claim already names a patient (verified by the AI, or identified).
    HANDOFF_IDENTIFIED = "HANDOFF_IDENTIFIED"
    #: Identify: the stated identifiers do not identify exactly one patient. The one answer
    #: for no match, several matches, a locked record and a wrong billing identifier.
    IDENTITY_NOT_CONFIRMED = "IDENTITY_NOT_CONFIRMED"
    #: Identify: this user failed MAX_IDENTIFY_FAILURES times on this call.
    IDENTIFY_LOCKED = "IDENTIFY_LOCKED"
    #: Identify: fewer than two identifiers stated, or no date of birth (nothing looked up).
    IDENTIFIERS_MISSING = "IDENTIFIERS_MISSING"


#: Failed identifications one user may make on one call (summed over that user's claims of
#: it, so releasing and claiming again does not buy more attempts). The AI's limit.
MAX_IDENTIFY_FAILURES = MAX_CALL_FAILURES


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


# -- identifying the caller of an unverified hand-off -----------------------------------------


def may_identify(assignments: Sequence[Assignment], user_id: uuid.UUID, failures: int,
                 now: datetime) -> Decision:
    """Only the user holding the call's open, unexpired claim may identify the caller, once
    (a claim that names a patient is done), and not after MAX_IDENTIFY_FAILURES failures."""
    current = open_assignment(assignments)
    if current is None:
        done = any(a.end_reason == EndReason.COMPLETED for a in assignments)
        return deny(HandoffReason.HANDOFF_DONE if done else HandoffReason.HANDOFF_NOT_CLAIMED)
    active = assignment_active(current, now)
    if current.agent_id != user_id:
        return deny(HandoffReason.HANDOFF_CLAIMED if active
                    else HandoffReason.HANDOFF_NOT_CLAIMED)
    if not active:
        return deny(HandoffReason.HANDOFF_CLAIM_EXPIRED)
    if current.patient_id is not None:
        return deny(HandoffReason.HANDOFF_IDENTIFIED)
    if failures >= MAX_IDENTIFY_FAILURES:
        return deny(HandoffReason.IDENTIFY_LOCKED)
    return ALLOW


def stated_enough(claims: Claims) -> Decision:
    """Before any look-up: a date of birth and at least one more identifier. Depends on the
    request alone, so saying so tells nothing about the records."""
    if claims.dob is None or claims.identity_count < 2:
        return deny(HandoffReason.IDENTIFIERS_MISSING)
    return ALLOW


def wants_billing(claims: Claims) -> bool:
    return claims.last_visit is not None or bool(claims.invoice)


@dataclass(frozen=True)
class Identification:
    """The outcome of one attempt. ``decision`` carries the verification's own reason codes
    (for the audit log only); the API answers every refusal as IDENTITY_NOT_CONFIRMED."""

    decision: Decision
    patient_id: uuid.UUID | None = None
    identifiers: tuple[str, ...] = ()
    billing_verified: bool = False
    #: Records a failed attempt counts against (the 24-hour record lock, as on AI calls).
    against: tuple[uuid.UUID, ...] = ()

    @property
    def identified(self) -> bool:
        return self.decision.allowed


def identify(claims: Claims, candidates: Sequence[Identity], *,
             locked: frozenset[uuid.UUID] = frozenset()) -> Identification:
    """The AI's verification rule (``calls.rules.verify``: two identifiers, one of them the
    date of birth, matching exactly one record not locked), without caller ID (a human
    asks; the number on the line proves nothing) and, when a billing identifier was stated,
    ``verify_billing`` on the record found. Every refusal counts as a failure of the claim:
    the agent cannot tell a miss from a tie or a lock, so neither can the counter."""
    result = verify(claims, candidates, locked=locked)
    if not result.verified:
        return Identification(result.decision, against=result.against)
    assert result.patient_id is not None
    billing = False
    if wants_billing(claims):
        person = next(c for c in candidates if c.id == result.patient_id)
        decision = verify_billing(claims, person)
        if not decision:
            return Identification(decision, against=(person.id,))
        billing = True
    return Identification(ALLOW, result.patient_id, result.identifiers, billing)


def counts_against_records(identification: Identification) -> bool:
    """Which failures add to the per-record 24-hour count: a mismatch (the AI counts the
    same), not a tie between namesakes nor an attempt on an already locked record."""
    return not identification.identified and any(
        r in identification.decision.reasons
        for r in (VerifyReason.NO_MATCH, VerifyReason.BILLING_NO_MATCH))
