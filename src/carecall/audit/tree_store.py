"""Reads and writes of the Merkle tree tables, inside a caller's unit of work.

The PostgreSQL paths pass whole batches as arrays (``unnest``) so that sequencing a batch is a
handful of statements whatever its size; SQLite gets ``executemany``, which is already fast
in-process.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from carecall.audit.merkle import EMPTY_ROOT, CompactRange, Node
from carecall.audit.model import SignedHead
from carecall.audit.store import (
    audit_entries,
    audit_signed_heads,
    audit_tree_nodes,
    audit_tree_state,
)

STATE_ID = 1


def lock_tree(session: Session) -> CompactRange:
    """Lock the tree-state row for this transaction (creating it on first use).

    On PostgreSQL ``FOR UPDATE`` makes every other sequencer or publisher wait here; on SQLite
    the unit of work's ``BEGIN IMMEDIATE`` already holds the only write lock.
    """
    stmt = select(audit_tree_state.c.tree_size, audit_tree_state.c.frontier).where(
        audit_tree_state.c.id == STATE_ID
    ).with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        values = {"id": STATE_ID, "tree_size": 0, "root_hash": EMPTY_ROOT, "frontier": b""}
        dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else (
            sqlite_insert
        )
        session.execute(dialect_insert(audit_tree_state).values(values).on_conflict_do_nothing())
        row = session.execute(stmt).one()
    return CompactRange.from_bytes(int(row.tree_size), bytes(row.frontier))


def save_tree(session: Session, tree: CompactRange) -> None:
    session.execute(
        update(audit_tree_state)
        .where(audit_tree_state.c.id == STATE_ID)
        .values(tree_size=tree.size, root_hash=tree.root(), frontier=tree.to_bytes())
    )


def read_tree(session: Session) -> tuple[int, bytes, bytes] | None:
    """(size, root, frontier) without locking; None before the first sequencing."""
    row = session.execute(
        select(
            audit_tree_state.c.tree_size,
            audit_tree_state.c.root_hash,
            audit_tree_state.c.frontier,
        ).where(audit_tree_state.c.id == STATE_ID)
    ).first()
    if row is None:
        return None
    return int(row.tree_size), bytes(row.root_hash), bytes(row.frontier)


def pending_batch(session: Session, limit: int) -> Sequence[Any]:
    """Committed entries without a log index, oldest insert first."""
    return session.execute(
        select(audit_entries.c.id, audit_entries.c.body)
        .where(audit_entries.c.log_index.is_(None))
        .order_by(audit_entries.c.id)
        .limit(limit)
    ).all()


def count_pending(session: Session) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(audit_entries).where(
                audit_entries.c.log_index.is_(None)
            )
        ).scalar_one()
    )


def assign_indices(session: Session, row_ids: list[int], first_index: int) -> None:
    indices = list(range(first_index, first_index + len(row_ids)))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE audit_entries SET log_index = v.li "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:lis AS bigint[])) AS v(id, li) "
                "WHERE audit_entries.id = v.id"
            ),
            {"ids": row_ids, "lis": indices},
        )
        return
    session.execute(
        text("UPDATE audit_entries SET log_index = :li WHERE id = :id"),
        [{"id": i, "li": li} for i, li in zip(row_ids, indices, strict=True)],
    )


def insert_nodes(session: Session, nodes: list[tuple[int, int, bytes]]) -> None:
    if not nodes:
        return
    if session.get_bind().dialect.name == "postgresql":
        levels, idxs, hashes = zip(*nodes, strict=True)
        session.execute(
            text(
                "INSERT INTO audit_tree_nodes (level, idx, hash) SELECT * FROM unnest("
                "CAST(:levels AS smallint[]), CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))"
            ),
            {"levels": list(levels), "idxs": list(idxs), "hashes": list(hashes)},
        )
        return
    session.execute(
        text("INSERT INTO audit_tree_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
        [{"l": lv, "i": ix, "h": h} for lv, ix, h in nodes],
    )


def fetch_nodes(session: Session, wanted: Sequence[Node]) -> dict[Node, bytes]:
    if not wanted:
        return {}
    c = audit_tree_nodes.c
    # OR of primary-key equalities: both engines turn it into index look-ups (SQLite does
    # not for a row-value IN list).
    terms = [and_(c.level == lv, c.idx == ix) for lv, ix in sorted(set(wanted))]
    rows = session.execute(select(c.level, c.idx, c.hash).where(or_(*terms))).all()
    return {(int(r.level), int(r.idx)): bytes(r.hash) for r in rows}


def find_entry(session: Session, entry_id: uuid.UUID) -> tuple[int | None, bytes] | None:
    row = session.execute(
        select(audit_entries.c.log_index, audit_entries.c.body).where(
            audit_entries.c.entry_id == entry_id
        )
    ).first()
    return None if row is None else (row.log_index, bytes(row.body))


def entry_at(session: Session, log_index: int) -> tuple[uuid.UUID, bytes] | None:
    row = session.execute(
        select(audit_entries.c.entry_id, audit_entries.c.body).where(
            audit_entries.c.log_index == log_index
        )
    ).first()
    return None if row is None else (row.entry_id, bytes(row.body))


def insert_head(session: Session, head: SignedHead) -> None:
    session.execute(
        audit_signed_heads.insert().values(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            origin=head.origin,
            key_name=head.key_name,
            checkpoint=head.checkpoint,
            signed_at=head.signed_at,
        )
    )


def _head(row: Any) -> SignedHead:
    return SignedHead(
        tree_size=int(row.tree_size),
        root_hash=bytes(row.root_hash),
        origin=row.origin,
        key_name=row.key_name,
        checkpoint=row.checkpoint,
        signed_at=row.signed_at,
    )


_HEAD_COLUMNS = (
    audit_signed_heads.c.tree_size,
    audit_signed_heads.c.root_hash,
    audit_signed_heads.c.origin,
    audit_signed_heads.c.key_name,
    audit_signed_heads.c.checkpoint,
    audit_signed_heads.c.signed_at,
)


def latest_head(session: Session) -> SignedHead | None:
    row = session.execute(
        select(*_HEAD_COLUMNS).order_by(audit_signed_heads.c.tree_size.desc()).limit(1)
    ).first()
    return None if row is None else _head(row)


def all_heads(session: Session) -> list[SignedHead]:
    rows = session.execute(select(*_HEAD_COLUMNS).order_by(audit_signed_heads.c.tree_size))
    return [_head(r) for r in rows]
