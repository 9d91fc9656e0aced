"""Audit tables and the append that every service calls inside its own unit of work.

``append`` only inserts a row: it is cheap, and it commits or rolls back with the action it
records. Giving entries their place in the Merkle log is the sequencer's job (it assigns
contiguous indices to committed entries in batches), because database sequence values have
gaps and commit out of order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

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
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
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
    # Clustered on (level, idx) on SQLite, so verify reads a level as one sequential scan.
    sqlite_with_rowid=False,
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


_DETAILS = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode

#: The canonical document with its keys already in sorted order, so each entry costs one
#: string format instead of a dict, a key sort and a general-purpose encoder run (the append
#: path's main CPU cost). ``tests/audit/test_audit_store.py`` holds it byte-equal to
#: ``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
_BODY = (
    '{"action":%s,"actor":%s,"details":%s,"entry_id":"%s","outcome":%s,"purpose":%s,'
    '"recorded_at":"%s","request_id":%s,"resource_id":%s,"resource_type":%s,"severity":%s,'
    '"tenant_id":%s,"v":1}'
)


def _json_str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``, the form bodies carry."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"
    )


def canonical_body(entry_id: uuid.UUID, recorded_at: datetime, event: AuditEvent) -> bytes:
    """The exact bytes an entry is committed to: sorted-key compact JSON, UTF-8."""
    return (_BODY % (
        encode_basestring(event.action),
        encode_basestring(event.actor),
        _DETAILS(event.details) if event.details else "{}",
        entry_id,
        encode_basestring(event.outcome),
        _json_str(event.purpose),
        format_timestamp(recorded_at),
        _json_str(event.request_id),
        _json_str(event.resource_id),
        encode_basestring(event.resource_type),
        encode_basestring(event.severity),
        "null" if event.tenant_id is None else f'"{event.tenant_id}"',
    )).encode()


# Driver-level SQL, written once: the append path skips SQLAlchemy's statement compilation
# and type processing, which cost more CPU than the insert itself.
_PG_INSERT = (
    "INSERT INTO audit_entries (entry_id, recorded_at, tenant_id, actor, action, resource_type,"
    " resource_id, outcome, severity, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PG_COPY = (
    "COPY audit_entries (entry_id, recorded_at, tenant_id, actor, action, resource_type,"
    " resource_id, outcome, severity, body) FROM STDIN"
)
_SQLITE_INSERT = (
    "INSERT INTO audit_entries (entry_id, recorded_at, tenant_id, actor, action, resource_type,"
    " resource_id, outcome, severity, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: From this many entries on, PostgreSQL gets them by ``COPY``: one protocol exchange and
#: no per-row statement, about twice the rate of a pipelined ``executemany``.
COPY_FROM = 16

_Entry = tuple[uuid.UUID, datetime, uuid.UUID | None, str, str, str, str | None, str, str, bytes]


def _entry(event: AuditEvent, clock: Clock) -> _Entry:
    entry_id = new_id()
    recorded_at = clock.now()
    if recorded_at.tzinfo is None:
        raise ValueError("the clock gave a naive datetime")
    if recorded_at.utcoffset():
        recorded_at = recorded_at.astimezone(UTC)
    return (
        entry_id, recorded_at, event.tenant_id, event.actor, event.action, event.resource_type,
        event.resource_id, event.outcome, event.severity,
        canonical_body(entry_id, recorded_at, event),
    )


def _sqlite_row(e: _Entry) -> tuple[Any, ...]:
    """The values as SQLAlchemy stores them on SQLite: ``Uuid`` as 32 hex digits,
    ``UtcDateTime`` as naive UTC text with microseconds."""
    at = e[1]
    return (
        e[0].hex,
        f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}:"
        f"{at.second:02d}.{at.microsecond:06d}",
        None if e[2] is None else e[2].hex,
        *e[3:],
    )


def _copy(conn: Connection, entries: list[_Entry]) -> None:
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(_PG_COPY) as copy:
            for entry in entries:
                copy.write_row(entry)
    except dbapi.Error as exc:
        # Keep the unit of work's error handling (StoreUnavailable and friends) working.
        raise DBAPIError.instance(_PG_COPY, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()


def append(session: Session, event: AuditEvent, clock: Clock) -> uuid.UUID:
    """Write one audit entry in the caller's transaction; it commits with the action."""
    entry = _entry(event, clock)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_PG_INSERT, entry)
    else:
        conn.exec_driver_sql(_SQLITE_INSERT, _sqlite_row(entry))
    return entry[0]


def append_many(session: Session, events: Iterable[AuditEvent], clock: Clock) -> list[uuid.UUID]:
    """Write several entries in the caller's transaction in one batched statement.

    For actions that touch many resources at once (an import, a campaign plan, a bulk
    export): ``COPY`` or one ``executemany`` instead of a round trip per entry. The entries
    commit or roll back with the action, exactly as ``append``'s do, and keep their order.
    """
    entries = [_entry(event, clock) for event in events]
    if not entries:
        return []
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(_SQLITE_INSERT, [_sqlite_row(e) for e in entries])
    elif len(entries) >= COPY_FROM:
        _copy(conn, entries)
    else:
        conn.exec_driver_sql(_PG_INSERT, entries)
    return [e[0] for e in entries]
