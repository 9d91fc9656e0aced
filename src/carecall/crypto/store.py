"""The key hierarchy's tables: wrapped tenant keys and wrapped per-subject data keys.

Neither table holds a usable key: tenant keys are wrapped by the KEK, data keys by their
tenant key. Destroying a key erases its wrapped bytes and keeps a tombstone row, so a reader
of data under it gets a clear "shredded" answer rather than "missing", and the audit trail can
say when. There is deliberately no foreign key to ``tenants``: the key rows of a shredded
tenant outlive the tenant row as tombstones.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from carecall.store.schema import UtcDateTime, metadata

ACTIVE = "active"
RETIRED = "retired"
DESTROYED = "destroyed"

tenant_keys = Table(
    "tenant_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    # 1, 2, ...: a data rotation adds a version; at most one is active (new writes).
    Column("version", Integer, nullable=False),
    # Wrapped by the KEK (``carecall.crypto.wrapped`` format); NULL once destroyed.
    Column("wrapped", LargeBinary, nullable=True),
    Column("kek_version", String(200), nullable=False),
    Column("state", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("destroyed_at", UtcDateTime, nullable=True),
    UniqueConstraint("tenant_id", "version"),
    CheckConstraint("state IN ('active', 'retired', 'destroyed')", name="state"),
)

data_keys = Table(
    "data_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    # The patient (or other subject) whose data the key protects: shredding is per subject.
    Column("subject_id", Uuid, nullable=False),
    Column("tenant_key_id", Uuid, ForeignKey("tenant_keys.id"), nullable=False, index=True),
    # Wrapped by the tenant key; NULL once destroyed (shredded or rotated away).
    Column("wrapped", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("destroyed_at", UtcDateTime, nullable=True),
    Index("ix_data_keys_tenant_subject", "tenant_id", "subject_id"),
)
