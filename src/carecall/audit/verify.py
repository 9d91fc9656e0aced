"""Full verification of the audit log from its stored entries.

Trusts nothing stored but the entries' canonical bodies: it recomputes every leaf and every
perfect subtree, then checks that indices run 0, 1, 2... without gaps, that each entry's
query columns match its body, that the tree state and every stored node agree with the
recomputation, and that every signed head carries a valid signature over the root the entries
produce at its size. Any change, deletion, insertion, reordering or truncation of entries
covered by a head therefore fails here.

It reads a million entries in a few seconds: raw driver rows in keyset pages, SHA-256 in
tight loops, stored nodes compared a whole level at a time (one bytes or list equality; a
level that differs is rescanned to name the bad nodes). On PostgreSQL a second connection on
the same exported snapshot reads the stored levels while the entries are hashed. The
column check parses each body with orjson (about a microsecond) and compares the fields with
the columns; an entry that does not match is rechecked exactly before it is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from json.encoder import encode_basestring
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from carecall.audit import merkle
from carecall.audit.checkpoint import parse_checkpoint
from carecall.audit.model import VerifyReport
from carecall.audit.reads import Reader
from carecall.audit.signing import NoteVerifier
from carecall.core.errors import InvalidInput
from carecall.store.db import Database

_loads = orjson.loads

MAX_LISTED = 20
_BATCH = 50_000
_NULL = "null"

_PAGE = " FROM audit_entries WHERE log_index > ? ORDER BY log_index LIMIT ?"
_ENTRIES = "SELECT log_index, body" + _PAGE

# The column check, slow and exact: the columns in the spelling the body uses, for
# ``body_matches_columns``. SQLite's stored forms (UUIDs as 32 hex digits, timestamps as
# naive UTC "YYYY-MM-DD HH:MM:SS.ffffff") are respelled; a value stored in any other form,
# even one SQLAlchemy would read back as the same value, comes out as '' and fails.
_SQLITE_UUID = (
    "CASE WHEN {c} IS NULL THEN NULL WHEN typeof({c}) = 'text' AND length({c}) = 32 THEN "
    "substr({c}, 1, 8) || '-' || substr({c}, 9, 4) || '-' || substr({c}, 13, 4) || '-' || "
    "substr({c}, 17, 4) || '-' || substr({c}, 21) ELSE '' END"
)
_SQLITE_TIME = (
    "CASE WHEN typeof(recorded_at) = 'text' AND length(recorded_at) = 26 "
    "AND substr(recorded_at, 11, 1) = ' ' "
    "THEN substr(recorded_at, 1, 10) || 'T' || substr(recorded_at, 12) || 'Z' ELSE '' END"
)
_PG_TIME = """to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_ONE = " FROM audit_entries WHERE log_index = ?"
# The column check, fast: the columns in the body's spelling (the server's to_char is far
# cheaper than decoding a timestamptz and comparing datetimes in Python).
_SQLITE_COLUMNS_PAGE = (
    "SELECT log_index, body, action, actor, entry_id, outcome, recorded_at, resource_id, "
    "resource_type, severity, tenant_id" + _PAGE
)
_PG_COLUMNS_PAGE = (
    "SELECT log_index, body, action, actor, entry_id::text, outcome, " + _PG_TIME + ", "
    "resource_id, resource_type, severity, tenant_id::text" + _PAGE
)
_PG_COLUMNS = (
    "SELECT body, action, actor, entry_id::text, outcome, " + _PG_TIME + ", resource_id, "
    "resource_type, severity, tenant_id::text" + _ONE
)
_SQLITE_COLUMNS = (
    "SELECT body, action, actor, " + _SQLITE_UUID.format(c="entry_id") + ", outcome, "
    + _SQLITE_TIME + ", resource_id, resource_type, severity, "
    + _SQLITE_UUID.format(c="tenant_id") + _ONE
)


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


def _str(value: str | None) -> str:
    return _NULL if value is None else encode_basestring(value)


def body_matches_columns(
    body: bytes, action: str, actor: str, entry_id: str, outcome: str, recorded_at: str,
    resource_id: str | None, resource_type: str, severity: str, tenant_id: str | None,
) -> bool:
    """Whether a canonical body (``store.canonical_body``) holds exactly these column values.

    The query columns are not hashed, so they are checked against the body they copy; a
    string comparison against fragments rebuilt from the columns is several times cheaper
    than parsing the body. It is exact for canonical bodies: keys are sorted, so
    ``action`` and ``actor`` open the document and ``resource_id`` to ``v`` close it, and
    ``,"`` never occurs inside a JSON string (a quote there is escaped), so each ``,"key":``
    found is a real key. Only ``details`` nests, and it sorts before ``entry_id`` and
    ``recorded_at``, so their last occurrences are the top-level keys.
    """
    try:
        text = body.decode()
        suffix = (
            f',"resource_id":{_str(resource_id)},"resource_type":{encode_basestring(resource_type)}'
            f',"severity":{encode_basestring(severity)},"tenant_id":'
            f'{_NULL if tenant_id is None else encode_basestring(tenant_id)},"v":1}}'
        )
        if not (
            text.endswith(suffix)
            and text.startswith(
                f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},'
                '"details":'
            )
        ):
            return False
        end = len(text) - len(suffix)
        at_id = text.rfind(',"entry_id":', 0, end)
        at_time = text.rfind(',"recorded_at":', 0, end)
        return (
            0 < at_id < at_time
            and text.startswith(
                f',"entry_id":"{entry_id}","outcome":{encode_basestring(outcome)},"purpose":',
                at_id,
            )
            and text.startswith(f',"recorded_at":"{recorded_at}","request_id":', at_time)
        )
    except (TypeError, ValueError):  # a column or body of the wrong type or encoding
        return False


def _pg_fast(body: bytes, row: tuple[Any, ...]) -> bool:
    """The column check's fast path on PostgreSQL: the body parsed by orjson (about a
    microsecond) against the columns the driver decoded. A match is exact; a mismatch is
    rechecked with ``body_matches_columns`` before it is reported."""
    try:
        doc = _loads(body)
        return (
            doc["action"], doc["actor"], doc["entry_id"], doc["outcome"], doc["recorded_at"],
            doc["resource_id"], doc["resource_type"], doc["severity"], doc["tenant_id"],
        ) == row[2:]
    except (KeyError, TypeError, ValueError):  # not a canonical body: recheck exactly
        return False


def _sqlite_fast(body: bytes, row: tuple[Any, ...]) -> bool:
    """As ``_pg_fast``, against SQLite's stored spellings (``Uuid`` as 32 hex digits,
    ``UtcDateTime`` as naive UTC text with microseconds); a column stored as another type
    compares unequal."""
    try:
        doc = _loads(body)
        at = doc["recorded_at"]
        tenant = doc["tenant_id"]
        return (
            doc["action"], doc["actor"], doc["entry_id"].replace("-", ""), doc["outcome"],
            at[:10] + " " + at[11:-1], doc["resource_id"], doc["resource_type"],
            doc["severity"], None if tenant is None else tenant.replace("-", ""),
        ) == row[2:]
    except (KeyError, TypeError, ValueError, AttributeError):  # recheck exactly
        return False


def _read_entries(reader: Reader, columns: bool, problems: _Problems) -> list[bytes]:
    """Leaf hashes in log order, checking index continuity and (optionally) the columns."""
    sql = _ENTRIES
    if columns:
        sql = _PG_COLUMNS_PAGE if reader.postgres else _SQLITE_COLUMNS_PAGE
    fast = _pg_fast if reader.postgres else _sqlite_fast
    leaves: list[bytes] = []
    append = leaves.append
    sha256 = hashlib.sha256
    recheck: list[int] = []
    for rows in reader.pages(sql, _BATCH):
        for row in rows:
            index, body = row[0], row[1]
            if index != len(leaves):
                problems.add(f"log index {len(leaves)} is missing (next stored index is {index})")
            append(sha256(b"\x00" + body).digest())
            if columns and not fast(body, row):
                recheck.append(index)
    exact = _PG_COLUMNS if reader.postgres else _SQLITE_COLUMNS
    for index in recheck:
        row = reader.one(exact, (index,))
        if not body_matches_columns(bytes(row[0]), *row[1:]):
            problems.add(f"entry at log index {index}: columns do not match its body")
    return leaves


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree hash, ``levels[level][index]``."""
    levels = [leaves]
    sha256 = hashlib.sha256
    while len(levels[-1]) > 1:
        below = iter(levels[-1])  # zip(it, it) walks it two at a time; an odd last is dropped
        pairs = zip(below, below, strict=False)
        levels.append([sha256(b"\x01" + a + b).digest() for a, b in pairs])
    return levels


def _root_at(levels: list[list[bytes]], size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.fold([levels[lv][ix] for lv, ix in merkle.subtrees(0, size)])


_Stored = dict[int, tuple[int, int, int, bytes | None]]
_PG_LEVELS = (
    "SELECT level, count(*), min(idx), max(idx), string_agg(hash, ''::bytea ORDER BY idx) "
    "FROM audit_tree_nodes GROUP BY level"
)


def _stored_levels(db: Database, snapshot: str) -> _Stored:
    """PostgreSQL: every stored level as (count, lowest index, highest index, its hashes
    joined in index order), read on a second connection from the caller's exported
    snapshot. It runs in a thread while the entries are read and hashed, so the server
    scans the nodes on its other core; the driver waits without holding the GIL."""
    with db.read() as conn:
        reader = Reader(conn, db.dialect)
        try:
            reader.snapshot(snapshot)
            return {
                int(level): (int(count), int(low), int(high), bytes(joined))
                for level, count, low, high, joined in reader.all(_PG_LEVELS)
            }
        finally:
            reader.close()


def _sqlite_levels(reader: Reader) -> _Stored:
    return {
        int(level): (int(count), int(low), int(high), None)
        for level, count, low, high in reader.all(
            "SELECT level, count(*), min(idx), max(idx) FROM audit_tree_nodes GROUP BY level"
        )
    }


def _level_equal(reader: Reader, level: int, expected: list[bytes], joined: bytes | None) -> (
    bool
):
    if joined is not None:
        return joined == b"".join(expected)
    rows = reader.all("SELECT hash FROM audit_tree_nodes WHERE level = ? ORDER BY idx", (level,))
    return [r[0] for r in rows] == expected


def _describe_level(
    reader: Reader, level: int, expected: list[bytes], problems: _Problems
) -> None:
    """Name the bad nodes of a level that did not compare equal as a whole."""
    seen = 0
    rows = reader.all(
        "SELECT idx, hash FROM audit_tree_nodes WHERE level = ? ORDER BY idx", (level,)
    )
    for idx, value in rows:
        if not 0 <= idx < len(expected):
            problems.add(f"stored node (level {level}, index {idx}) is outside the tree")
            continue
        seen += 1
        if bytes(value) != expected[idx]:
            problems.add(f"stored node (level {level}, index {idx}) does not match the entries")
    if seen != len(expected):
        problems.add(f"{len(expected) - seen} stored node(s) missing at level {level}")


def _check_nodes(
    reader: Reader, levels: list[list[bytes]], stats: _Stored, problems: _Problems
) -> int:
    """Every stored node against the recomputation. The primary key makes (level, idx)
    unique, so a level whose count, lowest and highest index fit holds exactly the indices
    0..n-1, and comparing its hashes in index order compares every node."""
    for level in sorted(set(stats) | set(range(len(levels)))):
        expected = levels[level] if level < len(levels) else []
        count, low, high, joined = stats.get(level, (0, 0, -1, None))
        if (count, low, high) == (len(expected), 0, len(expected) - 1) and (
            not expected or _level_equal(reader, level, expected, joined)
        ):
            continue
        _describe_level(reader, level, expected, problems)
    return sum(stat[0] for stat in stats.values())


def _check_state(reader: Reader, levels: list[list[bytes]], problems: _Problems) -> int:
    size = len(levels[0])
    state = reader.one("SELECT tree_size, root_hash, frontier FROM audit_tree_state WHERE id = 1")
    if state is None:
        if size:
            problems.add(f"tree state is missing but {size} entries are sequenced")
        return size
    stored_size, root, frontier = int(state[0]), bytes(state[1]), bytes(state[2])
    if stored_size != size:
        problems.add(f"tree state says size {stored_size} but {size} entries are sequenced")
    elif root != _root_at(levels, size) or frontier != b"".join(
        levels[lv][ix] for lv, ix in merkle.subtrees(0, size)
    ):
        problems.add(f"tree state root at size {size} does not match the entries")
    return stored_size


def _check_heads(
    reader: Reader,
    levels: list[list[bytes]],
    public_key: Ed25519PublicKey | None,
    problems: _Problems,
) -> int:
    heads = reader.all(
        "SELECT tree_size, root_hash, origin, key_name, checkpoint FROM audit_signed_heads "
        "ORDER BY tree_size"
    )
    for tree_size, root_hash, origin, key_name, note in heads:
        label = f"signed head at size {tree_size}"
        try:
            checkpoint, text, signatures = parse_checkpoint(note)
        except InvalidInput:
            problems.add(f"{label}: checkpoint text is malformed")
            continue
        if public_key is None:
            problems.add(f"{label}: no public key to check its signature")
        elif not any(NoteVerifier(public_key, key_name).accepts(text, s) for s in signatures):
            problems.add(f"{label}: signature does not verify")
        if (checkpoint.tree_size, checkpoint.root_hash, checkpoint.origin) != (
            tree_size, bytes(root_hash), origin
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


@contextmanager
def _snapshot_reader(db: Database) -> Iterator[Reader]:
    with db.read() as conn:
        reader = Reader(conn, db.dialect)
        try:
            reader.snapshot()
            yield reader
        finally:
            reader.close()


def verify_log(
    db: Database, public_key: Ed25519PublicKey | None, *, check_columns: bool = True
) -> VerifyReport:
    """Recompute the whole tree from the entries and check everything stored against it.

    ``check_columns`` also compares each entry's query columns with its body (they are not
    hashed, so a forged column would otherwise mislead a query). It reads from one snapshot
    without a write lock, so writers carry on while it runs.
    """
    problems = _Problems()
    with _snapshot_reader(db) as reader, ThreadPoolExecutor(1) as pool:
        stored: Future[_Stored] | None = None
        if reader.postgres:
            stored = pool.submit(_stored_levels, db, reader.one("SELECT pg_export_snapshot()")[0])
        leaves = _read_entries(reader, check_columns, problems)
        levels = _levels(leaves)
        tree_size = _check_state(reader, levels, problems)
        stats = _sqlite_levels(reader) if stored is None else stored.result()
        nodes = _check_nodes(reader, levels, stats, problems)
        heads = _check_heads(reader, levels, public_key, problems)
        pending = int(
            reader.one("SELECT count(*) FROM audit_entries WHERE log_index IS NULL")[0]
        )
    return VerifyReport(
        tree_size=tree_size,
        entries_checked=len(leaves),
        heads_checked=heads,
        nodes_checked=nodes,
        pending=pending,
        problems=problems.result(),
    )
