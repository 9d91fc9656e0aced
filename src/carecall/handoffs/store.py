"""The hand-off assignment table and the queue's reads.

The queue is read from the call tables (``calls.store``: sessions and their events, which
hold ids and codes only, so nothing is decrypted to list it). ``open_call_id`` equals
``call_id`` while an assignment is open and is NULL once it ends: its unique constraint
lets two agents race for a call and only one win, on SQLite and PostgreSQL alike.
``identify_failures`` counts a claim's failed identifications (``service.identify``).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from carecall.access.model import Assignment
from carecall.calls.store import call_events, call_sessions
from carecall.store.schema import UtcDateTime, metadata

handoff_assignments = Table(
    "handoff_assignments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("call_id", Uuid, ForeignKey("call_sessions.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("open_call_id", Uuid, nullable=True, unique=True),
    Column("agent_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("patient_id", Uuid, nullable=True),
    Column("assigned_by", String(200), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("end_reason", String(20), nullable=True),
    #: Failed attempts to identify the caller of an unverified call on this claim.
    Column("identify_failures", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_handoff_assignments_agent_patient", "agent_id", "patient_id"),
)

_FIELDS = tuple(Assignment.__dataclass_fields__)
#: Events that tell whether, and as whom, the caller was verified.
_VERIFICATION = ("identity_verified", "locked_out")
QUEUE_LIMIT = 200
_HANDOFF_OUTCOMES = ("handoff", "locked_out")


def _assignment(row: Any) -> Assignment:
    r = row._mapping
    return Assignment(**{k: r[k] for k in _FIELDS})


class HandoffCall:
    """One handed-off call as the queue reads it (ids and codes only)."""

    def __init__(self, call_id: uuid.UUID, reason: str, at: datetime, channel_ref: str,
                 direction: str) -> None:
        self.call_id = call_id
        self.reason = reason
        self.at = at
        self.channel_ref = channel_ref
        self.direction = direction


class HandoffStore:
    """Reads and writes hand-off rows; callers are services that already checked access."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the queue, read from the call tables ---------------------------------------------

    def handed_off(self, tenant_id: uuid.UUID, call_id: uuid.UUID | None = None,
                   limit: int = QUEUE_LIMIT) -> list[HandoffCall]:
        """The tenant's handed-off calls, newest first (one, when ``call_id`` is given)."""
        query = (
            select(call_events.c.call_id, call_events.c.fields, call_events.c.at,
                   call_sessions.c.channel_ref, call_sessions.c.direction)
            .join(call_sessions, call_sessions.c.id == call_events.c.call_id)
            # A hand-off ends the call as "handoff" (or "locked_out" after a lockout): the
            # outcome narrows the tenant's calls before their events are read.
            .where(call_sessions.c.tenant_id == tenant_id,
                   call_sessions.c.outcome.in_(_HANDOFF_OUTCOMES),
                   call_events.c.kind == "handoff")
            .order_by(call_events.c.at.desc(), call_events.c.id.desc())
            .limit(limit)
        )
        if call_id is not None:
            query = query.where(call_events.c.call_id == call_id)
        out: list[HandoffCall] = []
        seen: set[uuid.UUID] = set()
        for r in self.session.execute(query).all():
            if r.call_id in seen:
                continue
            seen.add(r.call_id)
            reason = str(json.loads(r.fields).get("reason", "unknown"))
            out.append(HandoffCall(r.call_id, reason, r.at, r.channel_ref, r.direction))
        return out

    def verification_events(
        self, call_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[str, dict[str, Any]]]]:
        found: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        if not call_ids:
            return found
        rows = self.session.execute(
            select(call_events.c.call_id, call_events.c.kind, call_events.c.fields)
            .where(call_events.c.call_id.in_(call_ids), call_events.c.kind.in_(_VERIFICATION))
            .order_by(call_events.c.call_id, call_events.c.seq)).all()
        for r in rows:
            found[r.call_id].append((r.kind, json.loads(r.fields)))
        return found

    # -- assignments ----------------------------------------------------------------------

    def of_calls(self, call_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Assignment]]:
        found: dict[uuid.UUID, list[Assignment]] = defaultdict(list)
        if not call_ids:
            return found
        rows = self.session.execute(
            select(handoff_assignments).where(handoff_assignments.c.call_id.in_(call_ids))
            .order_by(handoff_assignments.c.started_at)).all()
        for r in rows:
            found[r.call_id].append(_assignment(r))
        return found

    def of_call_for_update(self, call_id: uuid.UUID) -> list[Assignment]:
        rows = self.session.execute(
            select(handoff_assignments).where(handoff_assignments.c.call_id == call_id)
            .order_by(handoff_assignments.c.started_at).with_for_update()).all()
        return [_assignment(r) for r in rows]

    def for_agent_patient(self, agent_id: uuid.UUID, patient_id: uuid.UUID,
                          limit: int = 20) -> list[Assignment]:
        """The user's most recent assignments naming the patient (the access rule decides
        which, if any, is active)."""
        rows = self.session.execute(
            select(handoff_assignments).where(handoff_assignments.c.agent_id == agent_id,
                                              handoff_assignments.c.patient_id == patient_id)
            .order_by(handoff_assignments.c.started_at.desc()).limit(limit)).all()
        return [_assignment(r) for r in rows]

    def insert(self, assignment: Assignment, assigned_by: str) -> None:
        self.session.execute(insert(handoff_assignments).values(
            id=assignment.id, tenant_id=assignment.tenant_id, call_id=assignment.call_id,
            open_call_id=assignment.call_id, agent_id=assignment.agent_id,
            patient_id=assignment.patient_id, assigned_by=assigned_by[:200],
            started_at=assignment.started_at, expires_at=assignment.expires_at))

    def end(self, assignment_id: uuid.UUID, at: datetime, reason: str) -> None:
        self.session.execute(
            update(handoff_assignments)
            .where(handoff_assignments.c.id == assignment_id,
                   handoff_assignments.c.ended_at.is_(None))
            .values(ended_at=at, end_reason=reason, open_call_id=None))

    # -- identifying the caller ------------------------------------------------------------

    def identify_failures(self, call_id: uuid.UUID, agent_id: uuid.UUID) -> int:
        """The user's failed identifications on the call, over all their claims of it."""
        total = self.session.execute(
            select(func.coalesce(func.sum(handoff_assignments.c.identify_failures), 0))
            .where(handoff_assignments.c.call_id == call_id,
                   handoff_assignments.c.agent_id == agent_id)).scalar_one()
        return int(total)

    def add_identify_failure(self, assignment_id: uuid.UUID) -> None:
        self.session.execute(
            update(handoff_assignments).where(handoff_assignments.c.id == assignment_id)
            .values(identify_failures=handoff_assignments.c.identify_failures + 1))

    def set_patient(self, assignment_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
        """Name the patient on an open claim that names none; False if it changed meanwhile."""
        done = self.session.execute(
            update(handoff_assignments)
            .where(handoff_assignments.c.id == assignment_id,
                   handoff_assignments.c.ended_at.is_(None),
                   handoff_assignments.c.patient_id.is_(None))
            .values(patient_id=patient_id))
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]
