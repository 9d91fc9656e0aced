"""Audit tables and the append that every service calls inside its own unit of work.

``append`` only inserts a row: it is cheap, and it commits or rolls back with the action it
records. Giving entries their place in the Merkle log is the sequencer's job (it assigns
contiguous indices to committed entries in batches), because database sequence values have
gaps and commit out of order.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    insert,
)
from sqlalchemy.orm import Session

from carecall.audit.model import AuditEvent
from carecall.core.clock import Clock
from carecall.core.ids import new_id
from carecall.store.schema import UtcDateTime, metadata

audit_entries = Table(
    "audit_entries",
    metadata,
    # Insertion order only; it has gaps and is not the log order.
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True,
           autoincrement=True),
    Column("entry_id", Uuid, nullable=False, unique=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("tenant_id", Uuid, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("resource_type", String(60), nullable=False),
    Column("resource_id", String(100), nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    # The canonical bytes the Merkle leaf hashes; the columns above are for queries.
    Column("body", LargeBinary, nullable=False),
    Column("log_index", BigInteger, nullable=True, unique=True),
    Index("ix_audit_entries_tenant_recorded", "tenant_id", "recorded_at"),
    Index("ix_audit_entries_unsequenced", "log_index", "id"),
)

#: One row (id 1): the sequencer's lock and the tree's compact range. Locking it with
#: ``SELECT ... FOR UPDATE`` is what keeps a single sequencer running across processes.
audit_tree_state = Table(
    "audit_tree_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    # The frontier: the hashes of the perfect subtrees of the tree, largest first.
    Column("frontier", LargeBinary, nullable=False),
)

#: Every perfect subtree's hash: level 0 holds the leaf hashes. Any proof needs O(log n) of
#: them, fetched in one query.
audit_tree_nodes = Table(
    "audit_tree_nodes",
    metadata,
    Column("level", SmallInteger, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("level", "idx"),
)

#: Signed tree heads (C2SP tlog-checkpoint signed notes), one per tree size.
audit_signed_heads = Table(
    "audit_signed_heads",
    metadata,
    Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True,
           autoincrement=True),
    Column("tree_size", BigInteger, nullable=False, unique=True),
    Column("root_hash", LargeBinary, nullable=False),
    Column("origin", String(200), nullable=False),
    Column("key_name", String(200), nullable=False),
    Column("checkpoint", Text, nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
)


def canonical_body(entry_id: uuid.UUID, recorded_at: datetime, event: AuditEvent) -> bytes:
    """The exact bytes an entry is committed to: sorted-key compact JSON, UTF-8."""
    document = {
        "v": 1,
        "entry_id": str(entry_id),
        "recorded_at": recorded_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "tenant_id": str(event.tenant_id) if event.tenant_id else None,
        "actor": event.actor,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "severity": event.severity,
        "request_id": event.request_id,
        "details": event.details,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def append(session: Session, event: AuditEvent, clock: Clock) -> uuid.UUID:
    """Write one audit entry in the caller's transaction; it commits with the action."""
    entry_id = new_id()
    recorded_at = clock.now()
    session.execute(
        insert(audit_entries).values(
            entry_id=entry_id,
            recorded_at=recorded_at,
            tenant_id=event.tenant_id,
            actor=event.actor,
            action=event.action,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            outcome=event.outcome,
            severity=event.severity,
            body=canonical_body(entry_id, recorded_at, event),
        )
    )
    return entry_id
