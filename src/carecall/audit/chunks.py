"""One slice of ``verify_log``'s work: a range of log indices, checked on its own.

A big log is split at a multiple of ``2**TOP`` leaves, so every perfect subtree up to level
``TOP`` lies inside one slice. A slice reads its entries' bodies, hashes the leaves, builds
its subtrees up to level ``TOP``, compares them with the stored nodes in its range, and runs
the column check; the caller joins the slices' level-``TOP`` hashes (a few dozen) into the
upper levels. One slice runs in the calling process, the other in a worker process started
with ``python -m carecall.audit.chunks`` (it imports only the driver, hashlib and orjson, so
it starts in a fraction of a second): the work is CPU-bound Python, which threads cannot
share. On PostgreSQL the worker joins the caller's exported snapshot, so both read the same
log; SQLite has no shared snapshots, and the worker's own read transaction begins after the
caller's, so it sees the same entries below the caller's tree size (sequenced entries and
stored nodes never change; a change made while verify runs may be seen by one side only).

The column check here is a fast filter: an entry whose columns equal the values its parsed
body holds passes; any other is reported to the caller, which rechecks it exactly
(``verify.body_matches_columns``) before calling it a problem. A changed column always
differs from the body's value, so it is never passed.

Nothing here imports SQLAlchemy or the rest of carecall: the worker must start fast.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
import sqlite3
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

TOP = 16
Node = tuple[int, int]
_MIN = -(2**63)
_PAGE = 50_000

_SQLITE_ENTRIES = (
    "SELECT log_index, body{key} FROM audit_entries WHERE log_index > ? AND log_index < ? "
    "ORDER BY log_index LIMIT ?"
)
# The query columns as one JSON array, in SQLite's stored spellings (``Uuid`` as 32 hex
# digits, ``UtcDateTime`` as naive UTC text): one value to fetch instead of nine. A BLOB in a
# column makes json_array fail; the caller then falls back to the single-process check.
_SQLITE_KEY = (
    ", CAST(json_array(action, actor, entry_id, outcome, recorded_at, resource_id, "
    "resource_type, severity, tenant_id) AS BLOB)"
)
_PG_ENTRIES = (
    "SELECT log_index, body{key} FROM audit_entries WHERE log_index > %s AND log_index < %s "
    "ORDER BY log_index LIMIT %s"
)
# PostgreSQL: the nine columns in the body's own spellings (the server's to_char is far
# cheaper than decoding a timestamptz in Python), joined by U+001E into one text: one value
# for the driver to decode instead of nine (0.5-1 us a row less client CPU for about the
# same server work; ``array_to_json`` cost the server 1.5 us a row more than it saved). A
# nullable column is NULL as "" and a value v as "=v", so the two never spell alike; a NULL
# in any other column makes the whole text NULL (``||``, not concat_ws, which skips it). The
# filter stays exact (``_pg_key``): the body's side holds exactly eight separators, none
# inside a value (a value holding one makes the entry a suspect), so an equal text has none
# inside a column either and splits into the same nine values.
_PG_KEY = (
    ", action || chr(30) || actor || chr(30) || entry_id::text || chr(30) || outcome || chr(30) "
    """|| to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || chr(30) """
    "|| coalesce('=' || resource_id, '') || chr(30) || resource_type || chr(30) || severity "
    "|| chr(30) || coalesce('=' || tenant_id::text, '')"
)
_SEP = "\x1e"
# One level's stored nodes in a range, as (count, lowest, highest index, how many are
# 32-byte BLOBs, hashes joined in index order): one row instead of one per node. Joined
# hashes compare equal only if every one has 32 bytes, hence the count of those. SQLite
# (3.40) has no ORDER BY inside an aggregate; it concatenates in the order of the ordered
# subquery (the primary key's), and an order it did not keep would only make a correct
# level look different, which the per-node rescan then clears.
_SQLITE_LEVEL = (
    "SELECT count(*), min(idx), max(idx), sum(typeof(hash) = 'blob' AND length(hash) = 32), "
    "CAST(group_concat(hash, '') AS BLOB) FROM ("
    "SELECT idx, hash FROM audit_tree_nodes WHERE level = ? AND idx >= ? AND idx < ? "
    "ORDER BY idx)"
)
# PostgreSQL likewise takes the ordered subquery (an index scan: it is never pulled up, and
# sorting is off) rather than ``string_agg(... ORDER BY idx)``, which sorts half a million
# hashes again, on disk at the default work_mem.
_PG_LEVEL = (
    "SELECT count(*), min(idx), max(idx), count(*) FILTER (WHERE length(hash) = 32), "
    "string_agg(hash, ''::bytea) FROM (SELECT idx, hash FROM audit_tree_nodes "
    "WHERE level = %s AND idx >= %s AND idx < %s ORDER BY idx) AS s"
)
_SQLITE_NODES = (
    "SELECT idx, hash FROM audit_tree_nodes WHERE level = ? AND idx >= ? AND idx < ? "
    "ORDER BY idx"
)


@dataclass(frozen=True)
class Job:
    """A slice: log indices ``start`` (or everything below ``end`` when ``first``) up to
    ``end``, exclusive. ``start`` is a multiple of ``2**TOP``."""

    dialect: str
    start: int
    end: int
    first: bool
    columns: bool
    wanted: tuple[Node, ...] = ()
    # For a worker: where to connect (a SQLite path or a libpq conninfo) and, on
    # PostgreSQL, the snapshot to join.
    target: str = ""
    snapshot: str | None = None
    top: int = TOP


@dataclass
class Result:
    """What a slice found. ``ordered`` is False when its indices did not run ``start``,
    ``start + 1``, ... ``end - 1``; the caller then rechecks the whole log in one process
    (a gap is tampering, and its report must name every index the way that path does)."""

    ordered: bool = True
    columns_failed: bool = False
    suspects: list[int] = field(default_factory=list)
    tops: list[bytes] = field(default_factory=list)
    found: dict[Node, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    missing: dict[int, int] = field(default_factory=dict)
    nodes_checked: int = 0


def _entries_sql(dialect: str, columns: bool) -> str:
    if dialect == "postgresql":
        return _PG_ENTRIES.format(key=_PG_KEY if columns else "")
    return _SQLITE_ENTRIES.format(key=_SQLITE_KEY if columns else "")


def _sqlite_key(body: bytes) -> bytes | None:
    """The body's column values as ``_SQLITE_KEY`` spells them, or None if it has no such
    values (then the entry is a suspect)."""
    try:
        doc = orjson.loads(body)
        at = doc["recorded_at"]
        tenant = doc["tenant_id"]
        return orjson.dumps([
            doc["action"], doc["actor"], doc["entry_id"].replace("-", ""), doc["outcome"],
            at[:10] + " " + at[11:-1], doc["resource_id"], doc["resource_type"],
            doc["severity"], None if tenant is None else tenant.replace("-", ""),
        ])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _pg_key(body: bytes) -> str | None:
    """The body's column values as ``_PG_KEY`` joins them, or None (a suspect) if it has no
    such values or a value holds the separator."""
    try:
        doc = orjson.loads(body)
        resource, tenant = doc["resource_id"], doc["tenant_id"]
        key = _SEP.join((
            doc["action"], doc["actor"], doc["entry_id"], doc["outcome"], doc["recorded_at"],
            "" if resource is None else "=" + resource, doc["resource_type"],
            doc["severity"], "" if tenant is None else "=" + tenant,
        ))
    except (KeyError, TypeError, ValueError):
        return None
    return key if key.count(_SEP) == 8 else None


def _read_leaves(cursor: Any, job: Job, result: Result) -> list[bytes] | None:
    """The slice's leaf hashes, checking that indices run without a gap; None if not."""
    sql = _entries_sql(job.dialect, job.columns)
    postgres = job.dialect == "postgresql"
    leaves: list[bytes] = []
    sha256 = hashlib.sha256
    suspects = result.suspects
    expected = job.start
    sqlite_key, pg_key = _sqlite_key, _pg_key
    for rows in _pages(cursor, sql, job):
        if not rows or rows[0][0] != expected or rows[-1][0] != expected + len(rows) - 1:
            # Indices are unique, so first and last in place means every one between is.
            if rows or expected != job.end:
                return None
            return leaves
        leaves += [sha256(b"\x00" + row[1]).digest() for row in rows]
        if job.columns and postgres:
            suspects += [row[0] for row in rows if pg_key(row[1]) != row[2]]
        elif job.columns:
            suspects += [row[0] for row in rows if sqlite_key(row[1]) != row[2]]
        expected += len(rows)
    return leaves if expected == job.end else None


def _pages(cursor: Any, sql: str, job: Job) -> Iterator[list[Any]]:
    """The slice's entries in keyset pages; each next page is fetched in a thread while the
    caller hashes this one (the driver waits on the server, or SQLite steps, without the
    GIL). An empty page ends a slice whose size is a multiple of the page."""

    def fetch(last: int) -> list[Any]:
        cursor.execute(sql, (last, job.end, _PAGE))
        return list(cursor.fetchall())

    with ThreadPoolExecutor(1) as pool:
        pending: Future[list[Any]] | None = pool.submit(
            fetch, _MIN if job.first else job.start - 1
        )
        while pending is not None:
            rows = pending.result()
            pending = pool.submit(fetch, rows[-1][0]) if len(rows) == _PAGE else None
            yield rows


def _levels(leaves: list[bytes], top: int) -> list[list[bytes]]:
    levels = [leaves]
    sha256 = hashlib.sha256
    while len(levels) <= top and len(levels[-1]) > 1:
        below = iter(levels[-1])
        pairs = zip(below, below, strict=False)  # two at a time; an odd last is dropped
        levels.append([sha256(b"\x01" + a + b).digest() for a, b in pairs])
    return levels


def _bounds(job: Job, level: int) -> tuple[int, int]:
    return (_MIN if job.first else job.start >> level), job.end >> level


def _stored_levels(job: Job) -> list[tuple[Any, ...]]:
    """Every level's (count, lowest, highest, joined hashes) in this slice's range, read on a
    connection of its own (in a thread, while the entries are read and hashed)."""
    conn, cursor = _connect(job)
    try:
        sql = _PG_LEVEL if job.dialect == "postgresql" else _SQLITE_LEVEL
        stats = []
        for level in range(job.top + 1):
            cursor.execute(sql, (level, *_bounds(job, level)))
            stats.append(tuple(cursor.fetchone()))
        return stats
    finally:
        conn.close()


def _check_level(
    cursor: Any, job: Job, level: int, expected: list[bytes], stat: tuple[Any, ...],
    result: Result,
) -> None:
    """The stored nodes of one level in this slice's range against the recomputation."""
    postgres = job.dialect == "postgresql"
    base = job.start >> level
    low, high = _bounds(job, level)
    count, first, last, whole, joined = stat
    result.nodes_checked += count
    if not expected and count == 0:
        return
    # (level, idx) is the primary key: count, lowest and highest in place mean every index.
    if (count, first, last, whole) == (
        len(expected), base, base + len(expected) - 1, len(expected)
    ) and bytes(joined) == b"".join(expected):
        return
    cursor.execute(_SQLITE_NODES.replace("?", "%s") if postgres else _SQLITE_NODES,
                   (level, low, high))
    seen = 0
    for idx, value in cursor.fetchall():
        if not base <= idx < base + len(expected):
            result.problems.append(f"stored node (level {level}, index {idx}) is outside the tree")
            continue
        seen += 1
        if not isinstance(value, bytes | memoryview) or bytes(value) != expected[idx - base]:
            result.problems.append(
                f"stored node (level {level}, index {idx}) does not match the entries"
            )
    if seen != len(expected):
        result.missing[level] = result.missing.get(level, 0) + len(expected) - seen


def run(cursor: Any, job: Job) -> Result:
    """Check one slice on a cursor already inside the right read transaction."""
    result = Result()
    enabled = gc.isenabled()
    gc.disable()  # a million short-lived rows: the collector's passes find nothing to free
    try:
        with ThreadPoolExecutor(1) as pool:
            stored = pool.submit(_stored_levels, job)
            try:
                leaves = _read_leaves(cursor, job, result)
            except sqlite3.OperationalError as exc:  # a BLOB in a column (json_array)
                if not job.columns or "JSON" not in str(exc):
                    raise
                return Result(columns_failed=True)
            if leaves is None:
                return Result(ordered=False)
            levels = _levels(leaves, job.top)
            stats = stored.result()
        # A slice too small to reach level ``top`` has none of its nodes: none may be stored.
        for level, stat in enumerate(stats):
            expected = levels[level] if level < len(levels) else []
            _check_level(cursor, job, level, expected, stat, result)
        result.tops = levels[job.top] if len(levels) > job.top else []
        for level, idx in job.wanted:
            result.found[(level, idx)] = levels[level][idx - (job.start >> level)]
        return result
    finally:
        if enabled:
            gc.enable()


def _connect(job: Job) -> tuple[Any, Any]:
    if job.dialect == "postgresql":
        import psycopg
        from psycopg import sql

        conn = psycopg.connect(job.target, autocommit=True)
        cursor = conn.cursor(binary=True)
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if job.snapshot is not None:
            cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(job.snapshot)))
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return conn, cursor
    # It only ever reads; the page prefetch thread shares its cursor, one step at a time.
    lite = sqlite3.connect(job.target, isolation_level=None, check_same_thread=False)
    lite_cursor = lite.cursor()
    lite_cursor.execute("BEGIN")
    return lite, lite_cursor


def main() -> None:
    """Worker: a pickled ``Job`` on stdin, the pickled ``Result`` on stdout."""
    job: Job = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the process that started us
    conn, cursor = _connect(job)
    try:
        result = run(cursor, job)
    finally:
        conn.close()
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    # Run from the module under its own name, so the Result pickled back is
    # ``carecall.audit.chunks.Result`` rather than ``__main__.Result``.
    from carecall.audit.chunks import main as run_worker

    run_worker()
