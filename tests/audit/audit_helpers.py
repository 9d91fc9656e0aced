"""Helpers shared by the audit tests: entries written through ``append``, and a wipe."""

from __future__ import annotations

from sqlalchemy import delete

from carecall.audit.model import AuditEvent
from carecall.audit.sequencer import sequence_pending
from carecall.audit.store import (
    append,
    audit_entries,
    audit_signed_heads,
    audit_tree_nodes,
    audit_tree_state,
)
from carecall.core.clock import Clock, SystemClock
from carecall.store.db import Database


def event(i: int) -> AuditEvent:
    return AuditEvent(
        actor=f"user:{i % 7}", action="patient.read", resource_type="patient",
        resource_id=f"r{i}", purpose="treatment", request_id=f"req-{i}",
    )


def write_entries(db: Database, clock: Clock, count: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + count):
        with db.transaction() as session:
            ids.append(str(append(session, event(i), clock)))
    return ids


def wipe_audit(db: Database) -> None:
    with db.transaction() as session:
        for table in (audit_signed_heads, audit_tree_nodes, audit_tree_state, audit_entries):
            session.execute(delete(table))


def concurrent_writer(url: str, worker: int, transactions: int) -> list[str]:
    """One process: commits entries (1 to 3 per transaction) and sequences as it goes."""
    db = Database(url)
    clock = SystemClock()
    ids: list[str] = []
    try:
        for t in range(transactions):
            with db.transaction() as session:
                for k in range(1 + (worker + t) % 3):
                    ids.append(str(append(session, event(worker * 10_000 + t * 3 + k), clock)))
            if t % 4 == worker % 4:
                sequence_pending(db, batch_size=7)
    finally:
        db.dispose()
    return ids
