"""Audit log use cases: sequence, publish signed heads, prove, verify, list.

Services, the API, the CLI and the console come here; nothing else touches the tree tables.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select

from carecall.audit import merkle, tree_store
from carecall.audit.checkpoint import Checkpoint, sign_checkpoint
from carecall.audit.model import (
    AuditEntry,
    AuditEvent,
    ConsistencyProof,
    InclusionProof,
    SignedHead,
)
from carecall.audit.reads import Reader
from carecall.audit.sequencer import sequence_pending
from carecall.audit.signing import NoteSigner
from carecall.audit.store import audit_entries
from carecall.audit.verify import verify_log
from carecall.core.clock import Clock
from carecall.core.errors import IntegrityFailure, InvalidInput, NotFound
from carecall.store.db import Database

__all__ = [
    "consistency_proof",
    "inclusion_proof",
    "latest_head",
    "publish_head",
    "publish_head_if_grown",
    "recent_entries",
    "sequence_pending",
    "verify_log",
]


def _publish(db: Database, signer: NoteSigner, clock: Clock, *, only_if_grown: bool) -> (
    SignedHead | None
):
    sequence_pending(db)
    with db.transaction() as session:
        tree = tree_store.lock_tree(session)
        latest = tree_store.latest_head(session)
        if latest is not None and latest.tree_size >= tree.size:
            return None if only_if_grown else latest
        checkpoint = Checkpoint(signer.name, tree.size, tree.root())
        head = SignedHead(
            tree_size=tree.size,
            root_hash=checkpoint.root_hash,
            origin=checkpoint.origin,
            key_name=signer.name,
            checkpoint=sign_checkpoint(checkpoint, signer),
            signed_at=clock.now(),
        )
        tree_store.insert_head(session, head)
        return head


def publish_head(db: Database, signer: NoteSigner, clock: Clock) -> SignedHead:
    """Sequence what is pending and sign the tree; a head already at that size is reused."""
    head = _publish(db, signer, clock, only_if_grown=False)
    assert head is not None  # only_if_grown=False always yields a head
    return head


def publish_head_if_grown(db: Database, signer: NoteSigner, clock: Clock) -> SignedHead | None:
    """For the server's timer: a new head only when the tree grew since the last one."""
    return _publish(db, signer, clock, only_if_grown=True)


def latest_head(db: Database) -> SignedHead | None:
    with db.transaction() as session:
        return tree_store.latest_head(session)


#: Stored nodes from this level up are kept in memory once read (per ``Database``): a
#: perfect subtree's hash never changes once stored, there are fewer than n / 128 of them,
#: and they are over half of what a proof needs. Capped, so a huge log cannot grow it
#: without bound.
CACHE_LEVEL = 8
CACHE_MAX = 1 << 16
_ANCHOR: merkle.Node = (0, 0)


class _NodeCache:
    """Upper-level nodes of one database's tree, valid while its first leaf is the one they
    were read with: every proof query also fetches leaf 0, so a log that was wiped and
    refilled (tests do) empties the cache instead of serving another tree's nodes."""

    def __init__(self) -> None:
        self.anchor: bytes | None = None
        self.nodes: dict[merkle.Node, bytes] = {}


_caches: weakref.WeakKeyDictionary[Database, _NodeCache] = weakref.WeakKeyDictionary()


def _cached_nodes(db: Database, reader: Reader, wanted: set[merkle.Node]) -> (
    dict[merkle.Node, bytes]
):
    """The wanted stored nodes: upper levels from the cache, the rest in one query."""
    cache = _caches.get(db)
    if cache is None:
        cache = _caches.setdefault(db, _NodeCache())
    nodes = cache.nodes
    # .get, not `in` then [...]: another thread may clear the cache in between.
    known = {n: h for n in wanted if (h := nodes.get(n)) is not None}
    found = reader.nodes([n for n in wanted if n not in known] + [_ANCHOR])
    anchor = found.get(_ANCHOR)
    if anchor != cache.anchor:  # first use, or another tree: start over
        nodes.clear()
        cache.anchor = anchor
        if known:
            found = reader.nodes([*wanted, _ANCHOR])
            known = {}
    if len(nodes) < CACHE_MAX:
        nodes.update((n, h) for n, h in found.items() if n[0] >= CACHE_LEVEL)
    if _ANCHOR not in wanted:
        found.pop(_ANCHOR, None)
    return found | known


def _range_hashes(
    db: Database, reader: Reader, ranges: list[tuple[int, int]], tree_size: int,
    extra: list[merkle.Node],
) -> tuple[list[bytes], bytes, dict[merkle.Node, bytes]]:
    """MTH of each range and the root at ``tree_size``, from one query of stored nodes."""
    parts = [merkle.subtrees(a, b) for a, b in ranges]
    root_parts = merkle.subtrees(0, tree_size)
    wanted = [n for p in parts for n in p] + root_parts + extra
    found = _cached_nodes(db, reader, set(wanted))
    if len(found) < len(set(wanted)):
        current = reader.tree_size()
        if tree_size > current:
            raise InvalidInput(f"Tree size must be at most {current}.")
        level, idx = next(n for n in wanted if n not in found)
        raise IntegrityFailure(
            f"The audit tree is missing node (level {level}, index {idx}); "
            "run `carecall audit verify`."
        )
    hashes = [merkle.fold([found[n] for n in p]) for p in parts]
    return hashes, merkle.fold([found[n] for n in root_parts]), found


def _tree_size(reader: Reader, tree_size: int | None) -> int:
    if tree_size is not None:
        return tree_size
    size = reader.latest_head_size()
    if size is None:
        raise InvalidInput("There is no signed tree head yet; run `carecall audit head` first.")
    return size


@contextmanager
def _reader(db: Database) -> Iterator[Reader]:
    """Proofs only read, and stored nodes never change once written: a plain connection with
    no unit of work is enough, and keeps them off SQLite's write lock."""
    with db.read() as conn:
        reader = Reader(conn, db.dialect)
        try:
            yield reader
        finally:
            reader.close()


def inclusion_proof(
    db: Database, entry: uuid.UUID | int, tree_size: int | None = None
) -> InclusionProof:
    """Prove an entry (by id or log index) is in the tree of ``tree_size`` (default: latest
    signed head)."""
    with _reader(db) as reader:
        size = _tree_size(reader, tree_size)
        if size < 1:
            raise InvalidInput("Tree size must be at least 1.")
        entry_id: uuid.UUID | None = None
        if isinstance(entry, uuid.UUID):
            exists, found = reader.entry_index(entry)
            if not exists:
                raise NotFound("No audit entry with that id.")
            if found is None:
                raise InvalidInput(
                    "That audit entry is not sequenced yet; run `carecall audit head`."
                )
            index, entry_id = int(found), entry
        else:
            index = entry
        if index >= size:
            if isinstance(entry, int) and not reader.has_index(index):
                raise NotFound("No audit entry at that log index.")
            raise InvalidInput(
                f"Entry {index} is not in the tree of size {size}; publish a newer head."
            )
        if index < 0:
            raise NotFound("No audit entry at that log index.")
        ranges = merkle.inclusion_ranges(index, size)
        hashes, root, nodes = _range_hashes(db, reader, ranges, size, [(0, index)])
    # The leaf hash comes from the stored level-0 node; verify_log checks those against the
    # entries' bodies.
    return InclusionProof(index, size, nodes[(0, index)], tuple(hashes), root, entry_id)


def consistency_proof(db: Database, old_size: int, new_size: int | None = None) -> (
    ConsistencyProof
):
    """Prove the tree of ``new_size`` (default: latest signed head) extends ``old_size``."""
    with _reader(db) as reader:
        new = _tree_size(reader, new_size)
        current = reader.tree_size()
        if not 0 <= old_size <= new <= current:
            raise InvalidInput(
                f"Need 0 <= old size <= new size <= {current}; got {old_size} and {new}."
            )
        if old_size == 0:
            new_root = _range_hashes(db, reader, [], new, [])[1] if new else merkle.EMPTY_ROOT
            return ConsistencyProof(0, new, merkle.EMPTY_ROOT, new_root, ())
        ranges = merkle.consistency_ranges(old_size, new)
        old_parts = merkle.subtrees(0, old_size)
        hashes, new_root, nodes = _range_hashes(db, reader, ranges, new, old_parts)
        old_root = merkle.fold([nodes[n] for n in old_parts])
    return ConsistencyProof(old_size, new, old_root, new_root, tuple(hashes))


def recent_entries(
    db: Database,
    *,
    tenant_id: uuid.UUID | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Newest entries first, for the compliance console (metadata only; no PHI is stored)."""
    c = audit_entries.c
    stmt = select(c.entry_id, c.recorded_at, c.body, c.log_index).order_by(
        c.recorded_at.desc(), c.id.desc()
    )
    if tenant_id is not None:
        stmt = stmt.where(c.tenant_id == tenant_id)
    if before is not None:
        stmt = stmt.where(c.recorded_at < before)
    with db.transaction() as session:
        rows = session.execute(stmt.limit(max(1, min(limit, 1000)))).all()
    result = []
    for row in rows:
        doc = json.loads(row.body)
        event = AuditEvent(
            actor=doc["actor"],
            action=doc["action"],
            resource_type=doc["resource_type"],
            resource_id=doc["resource_id"],
            tenant_id=uuid.UUID(doc["tenant_id"]) if doc["tenant_id"] else None,
            purpose=doc["purpose"],
            outcome=doc["outcome"],
            severity=doc["severity"],
            request_id=doc["request_id"],
            details=doc["details"],
        )
        result.append(AuditEntry(row.entry_id, row.recorded_at, event, bytes(row.body),
                                 row.log_index))
    return result
