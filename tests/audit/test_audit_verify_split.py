"""``verify_log`` in two slices (one in a worker process) finds exactly what the single-process
check finds. The slicing is made small here (a split at a multiple of 4 leaves, from 8
entries on) so a 40-entry log exercises it: the worker checks indices 20-39."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update
from tests.audit.audit_helpers import write_entries
from tests.audit.test_audit_log import TAMPERS, _tamper

from carecall.audit import chunks, service, verify
from carecall.audit.model import AuditEvent, VerifyReport
from carecall.audit.signing import NoteSigner
from carecall.audit.store import append_many, audit_entries, audit_tree_nodes
from carecall.audit.verify import MAX_LISTED
from carecall.core.clock import FixedClock
from carecall.store.db import Database

N = 40
IN_MAIN, IN_WORKER = 3, 33


def _log(db: Database, clock: FixedClock, signer: NoteSigner) -> None:
    """40 entries with heads at 13, 29 and 40 (sizes whose roots need nodes of both slices)."""
    for count in (13, 16, 11):
        start = len(_all(db))
        write_entries(db, clock, count, start=start)
        service.publish_head(db, signer, clock)


def _all(db: Database) -> list[int]:
    with db.transaction() as s:
        return list(s.execute(select(audit_entries.c.id)).scalars())


def _both(db: Database, signer: NoteSigner, *, split: bool | None = True) -> VerifyReport:
    """Verify split and whole; they must agree. Returns the split report."""
    pub = signer.private_key.public_key()
    sliced = service.verify_log(db, pub, split_from=8, split_level=2)
    whole = service.verify_log(db, pub, split_from=10**9)
    assert whole.slices == 1
    if split is not None:
        assert sliced.slices == (2 if split else 1)
    if len(whole.problems) <= MAX_LISTED:
        assert sorted(sliced.problems) == sorted(whole.problems)
    else:  # the first MAX_LISTED are listed, in each path's own order
        assert len(sliced.problems) == len(whole.problems)
        assert sliced.problems[-1] == whole.problems[-1]
    assert (sliced.tree_size, sliced.entries_checked, sliced.heads_checked) == (
        whole.tree_size, whole.entries_checked, whole.heads_checked)
    if split:
        assert sliced.nodes_checked == whole.nodes_checked
    return sliced


def test_an_untouched_log_verifies_in_two_slices(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    _log(db, clock, signer)
    report = _both(db, signer)
    assert report.ok, report.problems
    assert (report.tree_size, report.entries_checked, report.heads_checked) == (N, N, 3)


COLUMNS = {
    "actor": "someone-else",
    "resource_id": None,
    "tenant_id": uuid.UUID(int=7),
    "entry_id": uuid.UUID(int=9),
    "recorded_at": datetime(2026, 11, 23, 15, 0, 1, tzinfo=UTC),
}


@pytest.mark.parametrize("index", [IN_MAIN, IN_WORKER])
@pytest.mark.parametrize("column", sorted(COLUMNS))
def test_a_changed_column_is_found_by_either_slice(
    db: Database, clock: FixedClock, signer: NoteSigner, column: str, index: int
) -> None:
    _log(db, clock, signer)
    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == index).values(
            {column: COLUMNS[column]}))
    report = _both(db, signer)
    assert report.problems == (f"entry at log index {index}: columns do not match its body",)


@pytest.mark.parametrize("index", [IN_MAIN, 19, 20, IN_WORKER])
@pytest.mark.parametrize("kind", TAMPERS)
def test_tampering_in_either_slice_is_found(
    db: Database, clock: FixedClock, signer: NoteSigner, kind: str, index: int
) -> None:
    _log(db, clock, signer)
    _tamper(db, clock, kind, N, index, 39 - index)
    # A gap or an index out of place sends the whole log to the single-process check;
    # either way both paths must report the same.
    report = _both(db, signer, split=None)
    assert not report.ok, kind


@pytest.mark.parametrize(("level", "idx"), [(0, 2), (0, 25), (1, 12), (2, 4), (2, 6), (3, 4)])
def test_a_forged_or_missing_stored_node_is_named(
    db: Database, clock: FixedClock, signer: NoteSigner, level: int, idx: int
) -> None:
    _log(db, clock, signer)
    n = audit_tree_nodes.c
    where = (n.level == level, n.idx == idx)
    with db.transaction() as s:
        s.execute(update(audit_tree_nodes).where(*where).values(hash=b"\1" * 32))
    assert _both(db, signer).problems == (
        f"stored node (level {level}, index {idx}) does not match the entries",)
    with db.transaction() as s:
        s.execute(delete(audit_tree_nodes).where(*where))
    assert _both(db, signer).problems == (f"1 stored node(s) missing at level {level}",)


@pytest.mark.parametrize(("level", "idx"), [(0, 40), (1, 20), (2, 10), (3, 5), (5, 1), (9, 0),
                                            (0, -1), (-1, 0)])
def test_a_stored_node_outside_the_tree_is_named(
    db: Database, clock: FixedClock, signer: NoteSigner, level: int, idx: int
) -> None:
    _log(db, clock, signer)
    with db.transaction() as s:
        s.execute(insert(audit_tree_nodes).values(level=level, idx=idx, hash=b"\1" * 32))
    assert _both(db, signer).problems == (
        f"stored node (level {level}, index {idx}) is outside the tree",)


def test_a_column_stored_as_a_blob_falls_back_and_is_found(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    """SQLite keeps whatever type is written; the slices' JSON key cannot hold a BLOB, so the
    log is checked in one process, which reports the entry."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL columns hold only their declared type")
    _log(db, clock, signer)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_entries SET actor = CAST(actor AS BLOB) WHERE log_index = 30"))
    report = _both(db, signer, split=False)
    assert report.problems == ("entry at log index 30: columns do not match its body",)


@pytest.mark.parametrize("index", [4, 24])
def test_hashes_moved_across_a_node_boundary_are_found(
    db: Database, clock: FixedClock, signer: NoteSigner, index: int
) -> None:
    """Levels are compared as joined bytes; a 31-byte node followed by a 33-byte one joins
    to the same bytes, so the node lengths are checked too."""
    _log(db, clock, signer)
    n = audit_tree_nodes.c
    with db.transaction() as s:
        a, b = (s.execute(select(n.hash).where(n.level == 0, n.idx == i)).scalar_one()
                for i in (index, index + 1))
        s.execute(update(audit_tree_nodes).where(n.level == 0, n.idx == index).values(
            hash=a[:31]))
        s.execute(update(audit_tree_nodes).where(n.level == 0, n.idx == index + 1).values(
            hash=a[31:] + b))
    assert _both(db, signer).problems == (
        f"stored node (level 0, index {index}) does not match the entries",
        f"stored node (level 0, index {index + 1}) does not match the entries",
    )


@pytest.mark.parametrize("executable", ["/nonexistent/python", "/bin/false"])
def test_a_worker_that_cannot_run_leaves_the_check_to_one_process(
    db: Database, clock: FixedClock, signer: NoteSigner, monkeypatch: pytest.MonkeyPatch,
    executable: str,
) -> None:
    _log(db, clock, signer)
    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == IN_WORKER).values(
            actor="someone-else"))
    monkeypatch.setattr(sys, "executable", executable)
    report = service.verify_log(db, signer.private_key.public_key(), split_from=8,
                                split_level=2)
    assert report.slices == 1
    assert report.problems == (f"entry at log index {IN_WORKER}: columns do not match its body",)


def test_the_slices_fast_column_filter_passes_every_untouched_entry(
    db: Database, clock: FixedClock
) -> None:
    """A slice's column filter compares its database's JSON spelling of the columns with
    orjson's of the body's values. Both escape exactly as the canonical body does, so no
    untouched entry (quotes, backslashes, control and non-ASCII characters, no tenant, no
    resource) is sent to the slow exact recheck; a changed column is."""
    awkward = ['a"b\\c', "tab\there\nnew\x01\x1f\x7f", "é ü 🙂 \u2028 \u2029", "</script>", "x"]
    events = [
        AuditEvent(actor=t, action=t, resource_type=t[:60], resource_id=t if i % 2 else None,
                   tenant_id=uuid.uuid4() if i % 3 else None, purpose=t, request_id=t,
                   details={t: t})
        for i, t in enumerate(awkward * 8)
    ]
    with db.transaction() as s:
        append_many(s, events, clock)
    service.sequence_pending(db)
    target = verify._worker_target(db)
    assert target is not None
    job = chunks.Job(db.dialect, 0, len(events), True, True, target=target, top=2)
    conn, cursor = chunks._connect(job)
    try:
        assert chunks.run(cursor, job).suspects == []
    finally:
        conn.close()
    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == 7).values(
            actor='a"b\\d'))
    conn, cursor = chunks._connect(job)
    try:
        assert chunks.run(cursor, job).suspects == [7]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("changes", "resource_id"),
    [
        # A value holding the separator, moved across a column boundary.
        ({"action": "a\x1eb", "actor": ""}, "r"),
        # No resource in the body, an empty one in the column (and the other way round).
        ({"resource_id": ""}, None),
        ({"resource_id": None}, ""),
        # The "=v" spelling of a nullable column, put into it.
        ({"resource_id": "=r"}, "r"),
    ],
)
def test_the_slices_fast_column_filter_never_passes_a_shifted_or_nulled_column(
    db: Database, clock: FixedClock, changes: dict[str, str | None], resource_id: str | None
) -> None:
    """Columns joined into one text (PostgreSQL) or one JSON array (SQLite) still compare
    value by value: a separator moved between columns, or NULL against "", is a suspect."""
    events = [AuditEvent(actor="b", action="a", resource_type="t", resource_id=resource_id,
                         purpose="p", request_id="q") for _ in range(4)]
    with db.transaction() as s:
        append_many(s, events, clock)
    service.sequence_pending(db)
    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == 2).values(**changes))
    target = verify._worker_target(db)
    assert target is not None
    job = chunks.Job(db.dialect, 0, len(events), True, True, target=target, top=2)
    conn, cursor = chunks._connect(job)
    try:
        assert chunks.run(cursor, job).suspects == [2]
    finally:
        conn.close()
