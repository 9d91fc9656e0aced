"""Full verification of the audit log from its stored entries.

Trusts nothing stored but the entries' canonical bodies: it recomputes every leaf and every
perfect subtree, then checks that indices run 0, 1, 2... without gaps, that each entry's
query columns match its body, that the tree state and every stored node agree with the
recomputation, and that every signed head carries a valid signature over the root the entries
produce at its size. Any change, deletion, insertion, reordering or truncation of entries
covered by a head therefore fails here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from carecall.audit import merkle, tree_store
from carecall.audit.checkpoint import parse_checkpoint
from carecall.audit.model import VerifyReport
from carecall.audit.signing import NoteVerifier
from carecall.audit.store import audit_entries, audit_tree_nodes
from carecall.core.errors import InvalidInput
from carecall.store.db import Database

MAX_LISTED = 20
_STREAM = {"yield_per": 20_000}


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, message: str) -> None:
        if len(self.items) < MAX_LISTED:
            self.items.append(message)
        else:
            self.more += 1

    def result(self) -> tuple[str, ...]:
        extra = [f"... and {self.more} more problem(s)"] if self.more else []
        return tuple(self.items + extra)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _columns_match(row: Any, doc: dict[str, Any]) -> bool:
    """The query columns are not hashed, so they are checked against the body they copy."""
    return bool(
        doc.get("entry_id") == str(row.entry_id)
        and doc.get("tenant_id") == (str(row.tenant_id) if row.tenant_id else None)
        and doc.get("actor") == row.actor
        and doc.get("action") == row.action
        and doc.get("resource_type") == row.resource_type
        and doc.get("resource_id") == row.resource_id
        and doc.get("outcome") == row.outcome
        and doc.get("severity") == row.severity
        and doc.get("recorded_at") == _ts(row.recorded_at)
    )


def _read_leaves(session: Session, problems: _Problems) -> list[bytes]:
    """Leaf hashes in log order; raw rows, streamed, because this loop runs a million times."""
    result = session.connection().exec_driver_sql(
        "SELECT log_index, body FROM audit_entries WHERE log_index IS NOT NULL "
        "ORDER BY log_index",
        execution_options={"stream_results": True, "max_row_buffer": 20_000},
    )
    leaves: list[bytes] = []
    append = leaves.append
    sha256 = hashlib.sha256
    for index, body in result:
        if index != len(leaves):
            problems.add(f"log index {len(leaves)} is missing (next stored index is {index})")
        append(sha256(b"\x00" + body).digest())
    return leaves


def _check_columns(session: Session, problems: _Problems) -> None:
    c = audit_entries.c
    stmt = (
        select(c.log_index, c.body, c.entry_id, c.recorded_at, c.tenant_id, c.actor, c.action,
               c.resource_type, c.resource_id, c.outcome, c.severity)
        .where(c.log_index.is_not(None))
        .order_by(c.log_index)
    )
    for row in session.execute(stmt, execution_options=_STREAM):
        try:
            doc = json.loads(row.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not _columns_match(row, doc):
            problems.add(f"entry at log index {row.log_index}: columns do not match its body")


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree hash, ``levels[level][index]``."""
    levels = [leaves]
    node = merkle.node_hash
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def _root_at(levels: list[list[bytes]], size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.fold([levels[lv][ix] for lv, ix in merkle.subtrees(0, size)])


def _check_nodes(session: Session, levels: list[list[bytes]], problems: _Problems) -> int:
    c = audit_tree_nodes.c
    seen = [0] * len(levels)
    checked = 0
    stmt = select(c.level, c.idx, c.hash).order_by(c.level, c.idx)
    for level, idx, value in session.execute(stmt, execution_options=_STREAM):
        checked += 1
        if level >= len(levels) or idx >= len(levels[level]):
            problems.add(f"stored node (level {level}, index {idx}) is outside the tree")
            continue
        seen[level] += 1
        if bytes(value) != levels[level][idx]:
            problems.add(f"stored node (level {level}, index {idx}) does not match the entries")
    for level, count in enumerate(seen):
        if count != len(levels[level]):
            problems.add(f"{len(levels[level]) - count} stored node(s) missing at level {level}")
    return checked


def _check_state(session: Session, levels: list[list[bytes]], problems: _Problems) -> int:
    size = len(levels[0])
    state = tree_store.read_tree(session)
    if state is None:
        if size:
            problems.add(f"tree state is missing but {size} entries are sequenced")
        return size
    stored_size, root, frontier = state
    if stored_size != size:
        problems.add(f"tree state says size {stored_size} but {size} entries are sequenced")
    elif root != _root_at(levels, size) or frontier != b"".join(
        levels[lv][ix] for lv, ix in merkle.subtrees(0, size)
    ):
        problems.add(f"tree state root at size {size} does not match the entries")
    return stored_size


def _check_heads(
    session: Session,
    levels: list[list[bytes]],
    public_key: Ed25519PublicKey | None,
    problems: _Problems,
) -> int:
    heads = tree_store.all_heads(session)
    for head in heads:
        label = f"signed head at size {head.tree_size}"
        try:
            checkpoint, text, signatures = parse_checkpoint(head.checkpoint)
        except InvalidInput:
            problems.add(f"{label}: checkpoint text is malformed")
            continue
        if public_key is None:
            problems.add(f"{label}: no public key to check its signature")
        elif not any(NoteVerifier(public_key, head.key_name).accepts(text, s) for s in signatures):
            problems.add(f"{label}: signature does not verify")
        if (checkpoint.tree_size, checkpoint.root_hash, checkpoint.origin) != (
            head.tree_size, head.root_hash, head.origin
        ):
            problems.add(f"{label}: stored columns differ from the signed checkpoint")
        if checkpoint.tree_size > len(levels[0]):
            problems.add(
                f"{label}: the log has only {len(levels[0])} entries (entries were removed)"
            )
        elif _root_at(levels, checkpoint.tree_size) != checkpoint.root_hash:
            problems.add(
                f"{label}: root does not match the entries "
                "(entries changed, removed, inserted or reordered)"
            )
    return len(heads)


def verify_log(
    db: Database, public_key: Ed25519PublicKey | None, *, check_columns: bool = True
) -> VerifyReport:
    """Recompute the whole tree from the entries and check everything stored against it.

    ``check_columns`` also compares each entry's query columns with its body (they are not
    hashed, so a forged column would otherwise mislead a query); it roughly triples the time.
    """
    problems = _Problems()
    with db.transaction() as session:
        if db.dialect == "postgresql":
            # One snapshot for the whole check, so a concurrent sequencer cannot look like
            # tampering.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        leaves = _read_leaves(session, problems)
        if check_columns:
            _check_columns(session, problems)
        levels = _levels(leaves)
        tree_size = _check_state(session, levels, problems)
        nodes = _check_nodes(session, levels, problems)
        heads = _check_heads(session, levels, public_key, problems)
        pending = tree_store.count_pending(session)
    return VerifyReport(
        tree_size=tree_size,
        entries_checked=len(leaves),
        heads_checked=heads,
        nodes_checked=nodes,
        pending=pending,
        problems=problems.result(),
    )

