"""The audit log on a real database: sequencing, heads, proofs and tamper detection."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update
from tests.audit.audit_helpers import event, wipe_audit, write_entries

from carecall.audit import merkle, service
from carecall.audit.checkpoint import open_checkpoint
from carecall.audit.signing import NoteSigner
from carecall.audit.store import (
    append,
    append_many,
    audit_entries,
    audit_signed_heads,
    audit_tree_nodes,
    audit_tree_state,
)
from carecall.core.clock import FixedClock
from carecall.core.errors import InvalidInput, NotFound
from carecall.store.db import Database


def _indices(db: Database) -> dict[str, int | None]:
    with db.transaction() as s:
        rows = s.execute(select(audit_entries.c.entry_id, audit_entries.c.log_index)).all()
    return {str(r.entry_id): r.log_index for r in rows}


def _bodies(db: Database) -> list[bytes]:
    with db.transaction() as s:
        rows = s.execute(
            select(audit_entries.c.body).where(audit_entries.c.log_index.is_not(None))
            .order_by(audit_entries.c.log_index)
        ).scalars().all()
    return [bytes(b) for b in rows]


def test_sequencer_gives_contiguous_indices_in_batches(db: Database, clock: FixedClock) -> None:
    ids = write_entries(db, clock, 23)
    assert service.sequence_pending(db, batch_size=5) == 23
    assert sorted(_indices(db).values()) == list(range(23))  # type: ignore[type-var]
    assert service.sequence_pending(db) == 0
    ids += write_entries(db, clock, 4, start=23)
    assert service.sequence_pending(db, batch_size=3) == 4
    indices = _indices(db)
    assert sorted(indices.values()) == list(range(27))  # type: ignore[type-var]
    assert [indices[i] for i in ids[23:]] == [23, 24, 25, 26]


def test_entry_committed_out_of_order_gets_the_next_index(db: Database, clock: FixedClock) -> None:
    """An entry whose row id is lower than sequenced ones (it committed late) still gets the
    next index: row ids are never log indices."""
    write_entries(db, clock, 3)
    service.sequence_pending(db)
    with db.transaction() as s:
        low = s.execute(select(func.min(audit_entries.c.id))).scalar_one() - 1
        s.execute(
            insert(audit_entries).values(
                id=low, entry_id=uuid.uuid4(), recorded_at=clock.now(), actor="a", action="b",
                resource_type="c", outcome="success", severity="info", body=b"{}",
            )
        )
    assert service.sequence_pending(db) == 1
    with db.transaction() as s:
        assert s.execute(
            select(audit_entries.c.log_index).where(audit_entries.c.id == low)
        ).scalar_one() == 3


def test_late_commit_on_postgres_is_sequenced_after(db: Database, clock: FixedClock) -> None:
    """Two real transactions: the one holding the lower row id commits last."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers, so row ids follow commit order there")
    slow = db._sessions()
    slow.begin()
    slow_id = append(slow, event(0), clock)
    write_entries(db, clock, 2, start=1)
    assert service.sequence_pending(db) == 2
    slow.commit()
    slow.close()
    assert service.sequence_pending(db) == 1
    assert _indices(db)[str(slow_id)] == 2


def test_rolled_back_entries_leave_no_gap(db: Database, clock: FixedClock) -> None:
    write_entries(db, clock, 2)
    def failing_action() -> None:
        with db.transaction() as s:
            append(s, event(9), clock)
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    write_entries(db, clock, 2, start=2)
    service.sequence_pending(db)
    assert sorted(_indices(db).values()) == [0, 1, 2, 3]  # type: ignore[type-var]


def test_heads_proofs_and_verify(db: Database, clock: FixedClock, signer: NoteSigner) -> None:
    pub = signer.private_key.public_key()
    empty = service.publish_head(db, signer, clock)
    assert (empty.tree_size, empty.root_hash) == (0, merkle.EMPTY_ROOT)
    ids = write_entries(db, clock, 13)
    head13 = service.publish_head(db, signer, clock)
    assert head13.tree_size == 13
    assert open_checkpoint(head13.checkpoint, signer.verifier()).root_hash == head13.root_hash
    assert service.publish_head_if_grown(db, signer, clock) is None
    assert service.publish_head(db, signer, clock) == head13
    write_entries(db, clock, 8, start=13)
    head21 = service.publish_head_if_grown(db, signer, clock)
    assert head21 is not None
    assert service.latest_head(db) == head21

    leaves = [merkle.leaf_hash(b) for b in _bodies(db)]
    assert merkle.root_of(leaves) == head21.root_hash
    by_id = service.inclusion_proof(db, uuid.UUID(ids[4]))
    assert (by_id.log_index, by_id.tree_size) == (4, 21)
    assert merkle.verify_inclusion(4, 21, leaves[4], by_id.hashes, head21.root_hash)
    for size in range(1, 22):
        for index in range(size):
            proof = service.inclusion_proof(db, index, size)
            assert proof.hashes == tuple(
                merkle.proof_from_leaves(leaves, merkle.inclusion_ranges(index, size))
            )
        c = service.consistency_proof(db, size, 21)
        assert merkle.verify_consistency(
            size, 21, merkle.root_of(leaves[:size]), head21.root_hash, c.hashes
        )
    c0 = service.consistency_proof(db, 0)
    assert (c0.old_root, c0.new_root, c0.hashes) == (merkle.EMPTY_ROOT, head21.root_hash, ())

    report = service.verify_log(db, pub)
    assert report.ok, report.problems
    assert (report.tree_size, report.entries_checked, report.heads_checked) == (21, 21, 3)
    assert report.nodes_checked == 21 + 10 + 5 + 2 + 1

    recent = service.recent_entries(db, limit=3)
    assert [e.log_index for e in recent] == [20, 19, 18]
    assert recent[0].event.resource_id == "r20"


def test_proof_errors(db: Database, clock: FixedClock, signer: NoteSigner) -> None:
    with pytest.raises(InvalidInput, match="no signed tree head"):
        service.inclusion_proof(db, 0)
    write_entries(db, clock, 3)
    service.publish_head(db, signer, clock)
    with pytest.raises(NotFound):
        service.inclusion_proof(db, uuid.uuid4())
    with pytest.raises(NotFound):
        service.inclusion_proof(db, 7, 3)
    with pytest.raises(InvalidInput):
        service.inclusion_proof(db, 0, 4)
    pending = write_entries(db, clock, 1, start=3)
    with pytest.raises(InvalidInput, match="not sequenced"):
        service.inclusion_proof(db, uuid.UUID(pending[0]))
    service.sequence_pending(db)
    with pytest.raises(InvalidInput, match="not in the tree of size 3"):
        service.inclusion_proof(db, 3)
    with pytest.raises(InvalidInput):
        service.consistency_proof(db, 3, 2)


def test_verify_reports_missing_nodes_and_bad_state(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    write_entries(db, clock, 6)
    service.publish_head(db, signer, clock)
    with db.transaction() as s:
        s.execute(delete(audit_tree_nodes).where(audit_tree_nodes.c.level == 1))
        s.execute(update(audit_tree_state).values(root_hash=b"\0" * 32))
    report = service.verify_log(db, signer.private_key.public_key())
    assert not report.ok
    assert any("missing at level 1" in p for p in report.problems)
    assert any("tree state root" in p for p in report.problems)


def test_verify_reports_forged_head_signature(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    write_entries(db, clock, 4)
    head = service.publish_head(db, signer, clock)
    forged = head.checkpoint.replace("\n4\n", "\n3\n")
    with db.transaction() as s:
        s.execute(update(audit_signed_heads).values(checkpoint=forged, tree_size=3))
    problems = service.verify_log(db, signer.private_key.public_key()).problems
    assert any("signature does not verify" in p for p in problems)


TAMPERS = ["change_body", "change_column", "delete", "insert", "swap", "truncate", "renumber"]


def _tamper(db: Database, clock: FixedClock, kind: str, n: int, i: int, j: int) -> None:
    c = audit_entries.c
    with db.transaction() as s:
        row = s.execute(select(c.id, c.body).where(c.log_index == i)).one()
        if kind == "change_body":
            s.execute(update(audit_entries).where(c.id == row.id).values(
                body=bytes(row.body).replace(b"patient.read", b"patient.view")))
        elif kind == "change_column":
            s.execute(update(audit_entries).where(c.id == row.id).values(actor="someone-else"))
        elif kind == "delete":
            s.execute(delete(audit_entries).where(c.id == row.id))
        elif kind == "insert":
            # Shift every later entry up by one and slip a forged entry in at i.
            for k in range(n - 1, i - 1, -1):
                s.execute(update(audit_entries).where(c.log_index == k).values(log_index=k + 1))
            s.execute(insert(audit_entries).values(
                entry_id=uuid.uuid4(), recorded_at=clock.now(), actor="x", action="y",
                resource_type="z", outcome="success",
                severity="info", body=b'{"forged":true}', log_index=i))
        elif kind == "swap":
            other = s.execute(select(c.id).where(c.log_index == j)).scalar_one()
            s.execute(update(audit_entries).where(c.id == row.id).values(log_index=-1))
            s.execute(update(audit_entries).where(c.id == other).values(log_index=i))
            s.execute(update(audit_entries).where(c.id == row.id).values(log_index=j))
        elif kind == "truncate":
            s.execute(delete(audit_entries).where(c.log_index >= i))
        elif kind == "renumber":
            s.execute(update(audit_entries).where(c.id == row.id).values(log_index=n + 5))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(2, 24), kind=st.sampled_from(TAMPERS))
def test_any_tampering_after_a_head_is_detected(
    db: Database, clock: FixedClock, signer: NoteSigner, data: st.DataObject, n: int, kind: str
) -> None:
    wipe_audit(db)
    write_entries(db, clock, n)
    service.publish_head(db, signer, clock)
    pub = signer.private_key.public_key()
    assert service.verify_log(db, pub).ok
    i = data.draw(st.integers(0, n - 1))
    j = data.draw(st.integers(0, n - 1).filter(lambda x: x != i))
    _tamper(db, clock, kind, n, i, j)
    report = service.verify_log(db, pub)
    assert not report.ok, kind


def _fill(db: Database, clock: FixedClock, signer: NoteSigner, count: int) -> list[bytes]:
    with db.transaction() as s:
        append_many(s, [event(i) for i in range(count)], clock)
    service.publish_head(db, signer, clock)
    return [merkle.leaf_hash(b) for b in _bodies(db)]


def test_proofs_from_cached_upper_nodes_stay_exact(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    """Nodes from ``service.CACHE_LEVEL`` up are kept after the first read. Proofs served
    from the cache equal proofs computed from the leaves, and a log wiped and refilled under
    the same ``Database`` (a different leaf 0) is never answered from the old tree's nodes."""
    size = 2**service.CACHE_LEVEL * 3 + 5
    for _ in range(2):
        wipe_audit(db)
        leaves = _fill(db, clock, signer, size)
        root = merkle.root_of(leaves)
        for index in (0, 7, 300, size - 1, 517, 0):  # cold, then partly and fully warm
            proof = service.inclusion_proof(db, index)
            assert proof.root_hash == root
            assert proof.hashes == tuple(
                merkle.proof_from_leaves(leaves, merkle.inclusion_ranges(index, size)))
            assert merkle.verify_inclusion(index, size, leaves[index], proof.hashes, root)
        for old in (1, 256, 512, 600, size):
            c = service.consistency_proof(db, old)
            assert (c.old_root, c.new_root) == (merkle.root_of(leaves[:old]), root)
            assert merkle.verify_consistency(old, size, c.old_root, root, c.hashes)
