"""Full verification of the audit log from its stored entries.

Trusts nothing stored but the entries' canonical bodies: it recomputes every leaf and every
perfect subtree, then checks that indices run 0, 1, 2... without gaps, that each entry's
query columns match its body, that the tree state and every stored node agree with the
recomputation, and that every signed head carries a valid signature over the root the entries
produce at its size. Any change, deletion, insertion, reordering or truncation of entries
covered by a head therefore fails here.

It reads a million entries in a few seconds: raw driver rows in keyset pages, SHA-256 in
tight loops, stored nodes compared a whole level at a time (one bytes or list equality; a
level that differs is rescanned to name the bad nodes). A log of ``SPLIT_FROM`` entries or
more is checked in two slices at once, one in a worker process (``chunks``); a smaller log,
or one whose indices have a gap, is checked here in one process, where on PostgreSQL a
second connection on the same exported snapshot reads the stored levels while the entries
are hashed. The column check parses each body with orjson (about a microsecond) and compares
the fields with the columns; an entry that does not match is rechecked exactly before it is
reported.
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from carecall.audit import chunks, merkle
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
    _recheck(reader, recheck, problems)
    return leaves


def _recheck(reader: Reader, indices: list[int], problems: _Problems) -> None:
    """The exact column check for the entries the fast filter did not pass. An index the
    snapshot does not hold (SQLite: sequenced after it, seen by a worker) is skipped."""
    exact = _PG_COLUMNS if reader.postgres else _SQLITE_COLUMNS
    for index in sorted(indices):
        row = reader.one(exact, (index,))
        if row is not None and not body_matches_columns(bytes(row[0]), *row[1:]):
            problems.add(f"entry at log index {index}: columns do not match its body")


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree hash, ``levels[level][index]``."""
    levels = [leaves]
    sha256 = hashlib.sha256
    while len(levels[-1]) > 1:
        below = iter(levels[-1])  # zip(it, it) walks it two at a time; an odd last is dropped
        pairs = zip(below, below, strict=False)
        levels.append([sha256(b"\x01" + a + b).digest() for a, b in pairs])
    return levels


NodeAt = Callable[[int, int], bytes]


def _root_at(node: NodeAt, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.fold([node(lv, ix) for lv, ix in merkle.subtrees(0, size)])


def _getter(levels: list[list[bytes]]) -> NodeAt:
    return lambda level, idx: levels[level][idx]


_Stored = dict[int, tuple[int, int, int, bytes | None]]
_PG_LEVELS = (
    "SELECT level, count(*), min(idx), max(idx), string_agg(hash, ''::bytea ORDER BY idx), "
    "count(*) FILTER (WHERE length(hash) <> 32) FROM audit_tree_nodes GROUP BY level"
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
            # Joined hashes compare as a whole only if each has 32 bytes (else one short
            # and one long could join to the right bytes); a level with any other is
            # compared node by node.
            return {
                int(level): (int(count), int(low), int(high), None if odd else bytes(joined))
                for level, count, low, high, joined, odd in reader.all(_PG_LEVELS)
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
        if not isinstance(value, bytes | memoryview) or bytes(value) != expected[idx]:
            problems.add(f"stored node (level {level}, index {idx}) does not match the entries")
    if seen != len(expected):
        problems.add(f"{len(expected) - seen} stored node(s) missing at level {level}")


def _check_nodes(
    reader: Reader, levels: list[list[bytes]], stats: _Stored, problems: _Problems,
    lowest: int = 0,
) -> int:
    """Every stored node against the recomputation (``levels[0]`` is level ``lowest``). The
    primary key makes (level, idx) unique, so a level whose count, lowest and highest index
    fit holds exactly the indices 0..n-1, and comparing its hashes in index order compares
    every node."""
    for level in sorted(set(stats) | {lowest + k for k in range(len(levels))}):
        at = level - lowest
        expected = levels[at] if 0 <= at < len(levels) else []
        count, low, high, joined = stats.get(level, (0, 0, -1, None))
        if (count, low, high) == (len(expected), 0, len(expected) - 1) and (
            not expected or _level_equal(reader, level, expected, joined)
        ):
            continue
        _describe_level(reader, level, expected, problems)
    return sum(stat[0] for stat in stats.values())


def _read_state(reader: Reader) -> Any:
    return reader.one("SELECT tree_size, root_hash, frontier FROM audit_tree_state WHERE id = 1")


def _read_heads(reader: Reader) -> list[Any]:
    return reader.all(
        "SELECT tree_size, root_hash, origin, key_name, checkpoint FROM audit_signed_heads "
        "ORDER BY tree_size"
    )


def _check_state(state: Any, size: int, node: NodeAt, problems: _Problems) -> int:
    if state is None:
        if size:
            problems.add(f"tree state is missing but {size} entries are sequenced")
        return size
    stored_size, root, frontier = int(state[0]), bytes(state[1]), bytes(state[2])
    if stored_size != size:
        problems.add(f"tree state says size {stored_size} but {size} entries are sequenced")
    elif root != _root_at(node, size) or frontier != b"".join(
        node(lv, ix) for lv, ix in merkle.subtrees(0, size)
    ):
        problems.add(f"tree state root at size {size} does not match the entries")
    return stored_size


def _check_heads(
    heads: list[Any],
    size: int,
    node: NodeAt,
    public_key: Ed25519PublicKey | None,
    problems: _Problems,
) -> int:
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
        if checkpoint.tree_size > size:
            problems.add(f"{label}: the log has only {size} entries (entries were removed)")
        elif _root_at(node, checkpoint.tree_size) != checkpoint.root_hash:
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


#: Logs from this many entries on are checked in two slices, one in a worker process.
SPLIT_FROM = 2 ** (chunks.TOP + 2)


def _worker_target(db: Database) -> str | None:
    """Where a worker process connects: the SQLite file, or a libpq conninfo."""
    url = db.engine.url
    if db.dialect == "postgresql":
        return str(url.set(drivername="postgresql").render_as_string(hide_password=False))
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).resolve())


@dataclass
class _Split:
    entries: int
    node: NodeAt
    nodes_checked: int
    suspects: list[int]


def _start_worker(job: chunks.Job) -> subprocess.Popen[bytes] | None:
    """This interpreter running ``chunks`` on ``job``; None if it cannot be started (the
    caller then checks everything in this process)."""
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "carecall.audit.chunks"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        assert worker.stdin is not None
        worker.stdin.write(pickle.dumps(job))
        worker.stdin.close()
    except OSError:  # it died at once (a broken pipe)
        worker.kill()
        worker.wait()
        for pipe in (worker.stdin, worker.stdout):
            with suppress(OSError):
                if pipe is not None:
                    pipe.close()
        return None
    return worker


def _route(
    wanted: set[merkle.Node], start: int, end: int, top: int
) -> tuple[merkle.Node, ...]:
    """The wanted nodes at levels up to ``top`` that lie in leaves [start, end)."""
    return tuple(sorted(
        (lv, ix) for lv, ix in wanted
        if lv <= top and start <= ix << lv and (ix + 1) << lv <= end
    ))


def _verify_split(
    db: Database, reader: Reader, sizes: list[int], columns: bool, problems: _Problems,
    split_from: int, top: int,
) -> _Split | None:
    """The entries and stored nodes checked in two slices at once (``chunks``), or None when
    the log is small, the worker cannot run, or a slice found its indices out of order (the
    caller then checks everything in one process, which names each missing index)."""
    highest = reader.one("SELECT max(log_index) FROM audit_entries")[0]
    target = _worker_target(db)
    if highest is None or highest + 1 < split_from or target is None:
        return None
    n = int(highest) + 1
    middle = (n // 2) >> top << top
    if middle == 0:
        return None
    wanted = {node for size in sizes if 0 < size <= n for node in merkle.subtrees(0, size)}
    snapshot = reader.one("SELECT pg_export_snapshot()")[0] if reader.postgres else None
    job = chunks.Job(db.dialect, middle, n, False, columns, _route(wanted, middle, n, top),
                     target, snapshot, top)
    worker = _start_worker(job)
    if worker is None:
        return None
    with worker:
        try:
            cursor = reader.connection.cursor(binary=True) if reader.postgres else reader.cursor
            try:
                first = chunks.run(cursor, chunks.Job(
                    db.dialect, 0, middle, True, columns, _route(wanted, 0, middle, top),
                    target, snapshot, top))
            finally:
                if cursor is not reader.cursor:
                    cursor.close()
            assert worker.stdout is not None
            out = worker.stdout.read()
        except BaseException:
            worker.kill()
            raise
    if worker.returncode != 0:
        return None
    second: chunks.Result = pickle.loads(out)  # noqa: S301 - our own worker's pipe
    if not (first.ordered and second.ordered) or first.columns_failed or second.columns_failed:
        return None
    # Levels above TOP, from the slices' level-TOP hashes (a handful), checked here.
    upper = _levels(first.tops + second.tops)  # upper[0] is level ``top``
    found = first.found | second.found
    stats: _Stored = {
        int(level): (int(count), int(low), int(high), None)
        for level, count, low, high in reader.all(
            "SELECT level, count(*), min(idx), max(idx) FROM audit_tree_nodes "
            "WHERE level > ? OR level < 0 GROUP BY level", (top,)
        )
    }
    for problem in first.problems + second.problems:
        problems.add(problem)
    for level in sorted(first.missing.keys() | second.missing.keys()):
        missing = first.missing.get(level, 0) + second.missing.get(level, 0)
        problems.add(f"{missing} stored node(s) missing at level {level}")
    beyond = 0
    for level in range(top + 1):  # stored beyond the tree: no slice's range holds them
        for (idx,) in reader.all(
            "SELECT idx FROM audit_tree_nodes WHERE level = ? AND idx >= ? ORDER BY idx",
            (level, n >> level),
        ):
            beyond += 1
            problems.add(f"stored node (level {level}, index {idx}) is outside the tree")
    upper_nodes = _check_nodes(reader, upper[1:], stats, problems, lowest=top + 1)

    def node(level: int, idx: int) -> bytes:
        return found[(level, idx)] if level <= top else upper[level - top][idx]

    return _Split(n, node, first.nodes_checked + second.nodes_checked + upper_nodes + beyond,
                  first.suspects + second.suspects)


def verify_log(
    db: Database, public_key: Ed25519PublicKey | None, *, check_columns: bool = True,
    split_from: int = SPLIT_FROM, split_level: int = chunks.TOP,
) -> VerifyReport:
    """Recompute the whole tree from the entries and check everything stored against it.

    ``check_columns`` also compares each entry's query columns with its body (they are not
    hashed, so a forged column would otherwise mislead a query). It reads from one snapshot
    without a write lock, so writers carry on while it runs. A log of ``split_from`` entries
    or more is checked in two slices at once, one in a worker process (``chunks``), split
    at a multiple of ``2**split_level`` leaves (tests make both small).
    """
    problems = _Problems()
    with _snapshot_reader(db) as reader:
        state = _read_state(reader)
        heads = _read_heads(reader)
        sizes = [int(h[0]) for h in heads] + ([int(state[0])] if state is not None else [])
        split = _verify_split(
            db, reader, sizes, check_columns, problems, split_from, split_level
        )
        slices = 1 if split is None else 2
        if split is not None:
            _recheck(reader, split.suspects, problems)
            entries, node, nodes = split.entries, split.node, split.nodes_checked
        else:
            problems = _Problems()
            entries, node, nodes = _verify_whole(db, reader, check_columns, problems)
        tree_size = _check_state(state, entries, node, problems)
        checked = _check_heads(heads, entries, node, public_key, problems)
        pending = int(
            reader.one("SELECT count(*) FROM audit_entries WHERE log_index IS NULL")[0]
        )
    return VerifyReport(
        tree_size=tree_size,
        entries_checked=entries,
        heads_checked=checked,
        nodes_checked=nodes,
        pending=pending,
        problems=problems.result(),
        slices=slices,
    )


def _verify_whole(
    db: Database, reader: Reader, columns: bool, problems: _Problems
) -> tuple[int, NodeAt, int]:
    """Everything in this process: the path for small logs and for broken ones."""
    with ThreadPoolExecutor(1) as pool:
        stored: Future[_Stored] | None = None
        if reader.postgres:
            stored = pool.submit(_stored_levels, db, reader.one("SELECT pg_export_snapshot()")[0])
        leaves = _read_entries(reader, columns, problems)
        levels = _levels(leaves)
        stats = _sqlite_levels(reader) if stored is None else stored.result()
        nodes = _check_nodes(reader, levels, stats, problems)
    return len(leaves), _getter(levels), nodes
