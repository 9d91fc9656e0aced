"""The append path: canonical bodies, ``append_many``, and the column check in verify."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update
from tests.audit.audit_helpers import event

from carecall.audit import service, verify
from carecall.audit.model import AuditEvent
from carecall.audit.reads import Reader
from carecall.audit.signing import NoteSigner
from carecall.audit.store import (
    COPY_FROM,
    append,
    append_many,
    audit_entries,
    audit_tree_nodes,
    canonical_body,
    format_timestamp,
)
from carecall.audit.verify import body_matches_columns
from carecall.core.clock import FixedClock
from carecall.store.db import Database
from carecall.tenants.store import tenants

TEXT = st.text(max_size=12)
DETAILS = st.dictionaries(
    TEXT, st.one_of(TEXT, st.integers(-(2**40), 2**40), st.booleans(), st.lists(TEXT, max_size=3)),
    max_size=4,
)
EVENTS = st.builds(
    AuditEvent, actor=TEXT, action=TEXT, resource_type=TEXT,
    resource_id=st.none() | TEXT, tenant_id=st.none() | st.uuids(),
    purpose=st.none() | TEXT, outcome=st.sampled_from(["success", "denied", "failure"]),
    severity=st.sampled_from(["info", "warning", "high"]), request_id=st.none() | TEXT,
    details=DETAILS,
)
INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


def _reference(entry_id: uuid.UUID, at: datetime, e: AuditEvent) -> bytes:
    """The canonical form as defined: sorted-key compact JSON of the whole document."""
    return json.dumps({
        "v": 1, "entry_id": str(entry_id),
        "recorded_at": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "tenant_id": str(e.tenant_id) if e.tenant_id else None, "actor": e.actor,
        "action": e.action, "resource_type": e.resource_type, "resource_id": e.resource_id,
        "purpose": e.purpose, "outcome": e.outcome, "severity": e.severity,
        "request_id": e.request_id, "details": e.details,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _columns(entry_id: uuid.UUID, at: datetime, e: AuditEvent) -> dict[str, str | None]:
    return {
        "action": e.action, "actor": e.actor, "entry_id": str(entry_id), "outcome": e.outcome,
        "recorded_at": format_timestamp(at), "resource_id": e.resource_id,
        "resource_type": e.resource_type, "severity": e.severity,
        "tenant_id": str(e.tenant_id) if e.tenant_id else None,
    }


@given(e=EVENTS, entry_id=st.uuids(), at=INSTANTS)
def test_canonical_body_is_sorted_compact_json(e: AuditEvent, entry_id: uuid.UUID,
                                               at: datetime) -> None:
    body = canonical_body(entry_id, at, e)
    assert body == _reference(entry_id, at, e)
    assert body_matches_columns(body, **_columns(entry_id, at, e))  # type: ignore[arg-type]


def test_timestamps_in_other_zones_are_written_as_utc() -> None:
    at = datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert format_timestamp(at) == "2026-03-01T14:30:00.000005Z"


@given(e=EVENTS, entry_id=st.uuids(), at=INSTANTS, column=st.sampled_from(
    ["action", "actor", "entry_id", "outcome", "recorded_at", "resource_id", "resource_type",
     "severity", "tenant_id"]), forged=st.none() | TEXT | st.uuids().map(str))
def test_the_column_check_sees_any_column_that_differs_from_the_body(
    e: AuditEvent, entry_id: uuid.UUID, at: datetime, column: str, forged: str | None
) -> None:
    columns = _columns(entry_id, at, e)
    if forged == columns[column]:
        return
    columns[column] = forged
    assert not body_matches_columns(canonical_body(entry_id, at, e), **columns)  # type: ignore[arg-type]


def test_the_column_check_is_not_fooled_by_look_alike_details() -> None:
    """``details`` may hold keys named like the columns; only the top-level keys count."""
    entry_id, at = uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC)
    real = AuditEvent(actor="a", action="x", resource_type="r", details={
        "entry_id": "00000000-0000-0000-0000-000000000000", "outcome": "denied",
        "purpose": "p", "recorded_at": "1999-01-01T00:00:00.000000Z", "request_id": "q",
    })
    body = canonical_body(entry_id, at, real)
    columns = _columns(entry_id, at, real)
    assert body_matches_columns(body, **columns)  # type: ignore[arg-type]
    for key in ("entry_id", "recorded_at", "outcome"):
        forged = dict(columns, **{key: real.details[key]})
        assert not body_matches_columns(body, **forged)  # type: ignore[arg-type]
    assert not body_matches_columns(b'{"forged":true}', **columns)  # type: ignore[arg-type]
    assert not body_matches_columns(b"\xff", **columns)  # type: ignore[arg-type]


def _tenant_row(clock: FixedClock) -> dict[str, object]:
    return {
        "id": uuid.uuid4(), "slug": f"t-{uuid.uuid4().hex[:8]}", "display_name": "Practice",
        "contact_phone": "+15555550100", "timezone": "America/New_York", "agent_name": "Ava",
        "recording_mode": "off", "retain_raw_transcripts": False, "session_idle_minutes": 30,
        "created_at": clock.now(),
    }


def _entries(db: Database) -> list[tuple[str, bytes]]:
    with db.transaction() as s:
        rows = s.execute(
            select(audit_entries.c.entry_id, audit_entries.c.body).order_by(audit_entries.c.id)
        ).all()
    return [(str(r.entry_id), bytes(r.body)) for r in rows]


@pytest.mark.parametrize("count", [1, COPY_FROM - 1, COPY_FROM, 3 * COPY_FROM])
def test_append_many_commits_with_the_action_in_order(
    db: Database, clock: FixedClock, signer: NoteSigner, count: int
) -> None:
    """Below ``COPY_FROM`` PostgreSQL gets an executemany, from it on a COPY: both in order,
    with the columns the body holds, and the log verifies."""
    events = [event(i) for i in range(count)]
    with db.transaction() as s:
        s.execute(insert(tenants).values(_tenant_row(clock)))
        first = append(s, event(-1), clock)
        ids = append_many(s, events, clock)
    assert len(set(ids)) == count
    stored = _entries(db)
    assert [e for e, _ in stored] == [str(first)] + [str(i) for i in ids]
    assert [json.loads(b)["resource_id"] for _, b in stored] == ["r-1"] + [
        f"r{i}" for i in range(count)
    ]
    service.publish_head(db, signer, clock)
    report = service.verify_log(db, signer.private_key.public_key())
    assert report.ok, report.problems
    assert report.entries_checked == count + 1


@pytest.mark.parametrize("count", [2, 2 * COPY_FROM])
def test_append_many_rolls_back_with_the_action(
    db: Database, clock: FixedClock, count: int
) -> None:
    def failing_action() -> None:
        with db.transaction() as s:
            s.execute(insert(tenants).values(_tenant_row(clock)))
            append_many(s, [event(i) for i in range(count)], clock)
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        failing_action()
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(audit_entries)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(tenants)).scalar_one() == 0


def test_append_many_of_nothing_writes_nothing(db: Database, clock: FixedClock) -> None:
    with db.transaction() as s:
        assert append_many(s, [], clock) == []
    assert _entries(db) == []


class _NaiveClock:
    def now(self) -> datetime:
        return datetime(2026, 1, 1)  # naive: the mistake under test


def test_append_refuses_a_naive_clock(db: Database) -> None:
    with pytest.raises(ValueError, match="naive"), db.transaction() as s:
        append(s, event(0), _NaiveClock())


COLUMN_TAMPERS = {
    "actor": "someone-else",
    "action": "patient.write",
    "resource_type": "invoice",
    "resource_id": None,
    "outcome": "denied",
    "severity": "high",
    "tenant_id": uuid.UUID(int=7),
    "entry_id": uuid.UUID(int=9),
    "recorded_at": datetime(2026, 11, 23, 15, 0, 1, tzinfo=UTC),
}


@pytest.mark.parametrize("column", sorted(COLUMN_TAMPERS))
def test_verify_finds_a_column_changed_without_its_body(
    db: Database, clock: FixedClock, signer: NoteSigner, column: str
) -> None:
    with db.transaction() as s:
        append_many(s, [event(i) for i in range(5)], clock)
    service.publish_head(db, signer, clock)
    pub = signer.private_key.public_key()
    assert service.verify_log(db, pub).ok
    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == 3).values(
            {column: COLUMN_TAMPERS[column]}))
    report = service.verify_log(db, pub)
    assert report.problems == ("entry at log index 3: columns do not match its body",)
    assert service.verify_log(db, pub, check_columns=False).ok


@pytest.mark.parametrize(("level", "idx", "message"), [
    (0, 2, "stored node (level 0, index 2) does not match the entries"),
    (1, 1, "stored node (level 1, index 1) does not match the entries"),
    (2, 1, "stored node (level 2, index 1) is outside the tree"),
    (5, 0, "stored node (level 5, index 0) is outside the tree"),
])
def test_verify_names_a_forged_or_extra_stored_node(
    db: Database, clock: FixedClock, signer: NoteSigner, level: int, idx: int, message: str
) -> None:
    with db.transaction() as s:
        append_many(s, [event(i) for i in range(6)], clock)
    service.publish_head(db, signer, clock)
    n = audit_tree_nodes.c
    with db.transaction() as s:
        exists = s.execute(select(n.hash).where(n.level == level, n.idx == idx)).first()
        if exists:
            s.execute(update(audit_tree_nodes).where(n.level == level, n.idx == idx).values(
                hash=b"\1" * 32))
        else:
            s.execute(insert(audit_tree_nodes).values(level=level, idx=idx, hash=b"\1" * 32))
    report = service.verify_log(db, signer.private_key.public_key())
    assert report.problems == (message,)


def test_proofs_and_verify_read_while_a_writer_holds_the_lock(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    """Reads go through ``Database.read()``: on SQLite they take no write lock, so they run
    while a unit of work is open (before, they waited out the busy timeout)."""
    with db.transaction() as s:
        append_many(s, [event(i) for i in range(9)], clock)
    head = service.publish_head(db, signer, clock)
    with db.transaction() as s:
        append(s, event(99), clock)
        proof = service.inclusion_proof(db, 4)
        consistency = service.consistency_proof(db, 3)
        report = service.verify_log(db, signer.private_key.public_key())
    assert (proof.tree_size, proof.root_hash) == (9, head.root_hash)
    assert consistency.new_root == head.root_hash
    assert report.ok
    assert report.pending == 0


def test_verify_accepts_awkward_strings_in_every_column(
    db: Database, clock: FixedClock, signer: NoteSigner
) -> None:
    """The fast column check compares against fragments the database spells with its own JSON
    quoting; quotes, backslashes, control and non-ASCII characters must not look forged."""
    awkward = ['a"b\\c', "tab\there\nnew\x01\x1f\x7f", "é ü 🙂 \u2028 \u2029", "</script>"]
    events = [
        AuditEvent(actor=text, action=text, resource_type=text[:60], resource_id=text,
                   tenant_id=uuid.uuid4(), purpose=text, request_id=text, details={text: text})
        for text in awkward
    ]
    with db.transaction() as s:
        append_many(s, events, clock)
        append(s, events[0], clock)
    service.publish_head(db, signer, clock)
    report = service.verify_log(db, signer.private_key.public_key())
    assert report.ok, report.problems
    assert report.entries_checked == len(awkward) + 1


def test_the_fast_column_check_accepts_every_untouched_entry(
    db: Database, clock: FixedClock
) -> None:
    """An entry the fast path rejects is rechecked one query at a time: correct, but a log
    of such entries would verify a thousand times slower. Every column spelling the append
    path writes (awkward strings, a tenant or none, a missing resource) must pass it."""
    events = [event(i) for i in range(3)] + [
        AuditEvent(actor='a"b\\c', action="tab\there\x01", resource_type="é 🙂 \u2028",
                   resource_id=None, tenant_id=uuid.uuid4(), details={"k": 'v"'}),
    ]
    with db.transaction() as s:
        append_many(s, events, clock)
    service.sequence_pending(db)
    postgres = db.dialect == "postgresql"
    sql = verify._PG_COLUMNS_PAGE if postgres else verify._SQLITE_COLUMNS_PAGE
    fast = verify._pg_fast if postgres else verify._sqlite_fast
    with db.read() as conn:
        reader = Reader(conn, db.dialect)
        rows = [row for page in reader.pages(sql, 100) for row in page]
        reader.close()
    assert len(rows) == len(events)
    assert all(fast(bytes(row[1]), row) for row in rows)
    changed = (*rows[0][:2], "other", *rows[0][3:])
    assert not fast(bytes(rows[0][1]), changed)
