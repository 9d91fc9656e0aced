"""Read-only queries on a plain DBAPI connection (``Database.read()``), for proofs and verify.

Proofs are served per request and must stay well under a millisecond: no unit of work (on
SQLite that would take the write lock), no SQLAlchemy statement compilation, and the nodes a
proof needs (about 2 log2 n of them) fetched in one query whose text depends only on the
dialect, so the server keeps it prepared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from psycopg import sql

from carecall.audit.merkle import Node

# PostgreSQL: the wanted (level, idx) pairs as one array of keys, level << 48 | idx, sent as
# the text of an array literal (psycopg's list dumper costs more than the query's lookups),
# each split again and joined to the primary key.
_KEY_BITS = 48
_PG_NODES = (
    "SELECT n.level, n.idx, n.hash FROM unnest(%s::text::bigint[]) AS k "
    "JOIN audit_tree_nodes n ON n.level = (k >> 48)::smallint AND n.idx = k & 281474976710655"
)
# SQLite has no arrays; an OR of primary-key equalities becomes one index look-up per term,
# and the driver's statement cache keeps the (few) distinct texts prepared.
_SQLITE_TERM = "(level = ? AND idx = ?)"
_SQLITE_NODES: dict[int, str] = {}


class Reader:
    """A cursor and the SQL spelling of its dialect."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.postgres = dialect == "postgresql"

    def snapshot(self, exported: str | None = None) -> None:
        """Read everything after this from one snapshot, so that a sequencer committing
        meanwhile cannot look like tampering. SQLite's deferred ``BEGIN`` takes no lock.
        ``exported`` (PostgreSQL) joins another transaction's ``pg_export_snapshot()``."""
        if self.postgres:  # read connections are in autocommit: begin explicitly
            self.cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if exported is not None:
                # A utility statement takes no bound parameter: quote the id client-side.
                self.cursor.execute(
                    sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(exported))
                )
            # Whole-table streams: compiling them (JIT) costs more than it saves, and the
            # primary-key order wanted is the index's own, which a sort would only repeat.
            self.cursor.execute("SET LOCAL jit = off")
            self.cursor.execute("SET LOCAL enable_sort = off")
        else:
            self.cursor.execute("BEGIN")

    def pages(self, sql: str, batch: int) -> Iterator[list[Any]]:
        """A big result in pages by keyset: ``sql`` selects the key first, and takes the last
        key seen and the page size as parameters. Each page is one plain (binary, on
        PostgreSQL) query, faster than a server-side cursor, and never holds a million rows."""
        cursor = self.connection.cursor(binary=True) if self.postgres else self.cursor
        last = -(2**63)
        try:
            while True:
                cursor.execute(self._sql(sql), (last, batch))
                rows = cursor.fetchall()
                if rows:
                    yield rows
                if len(rows) < batch:
                    return
                last = rows[-1][0]
        finally:
            if cursor is not self.cursor:
                cursor.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cursor.execute(self._sql(sql), params)
        return list(self.cursor.fetchall())

    def uuid_param(self, value: uuid.UUID) -> Any:
        """``Uuid`` columns: native on PostgreSQL, 32 hex digits on SQLite (SQLAlchemy's form)."""
        return value if self.postgres else value.hex

    def nodes(self, wanted: Sequence[Node]) -> dict[Node, bytes]:
        pairs = sorted(set(wanted))
        if not pairs:
            return {}
        if self.postgres:
            if not all(0 <= lv < 2**15 and 0 <= ix < 2**_KEY_BITS for lv, ix in pairs):
                raise ValueError("node outside any tree")
            keys = ",".join([str(lv << _KEY_BITS | ix) for lv, ix in pairs])
            self.cursor.execute(_PG_NODES, ("{" + keys + "}",))
        else:
            sql = _SQLITE_NODES.get(len(pairs))
            if sql is None:
                where = " OR ".join([_SQLITE_TERM] * len(pairs))  # placeholders, never values
                sql = "SELECT level, idx, hash FROM audit_tree_nodes WHERE " + where  # noqa: S608
                _SQLITE_NODES[len(pairs)] = sql
            self.cursor.execute(sql, [v for pair in pairs for v in pair])
        return {(lv, ix): bytes(h) for lv, ix, h in self.cursor.fetchall()}

    def tree_size(self) -> int:
        row = self.one("SELECT tree_size FROM audit_tree_state WHERE id = 1")
        return 0 if row is None else int(row[0])

    def latest_head_size(self) -> int | None:
        row = self.one("SELECT max(tree_size) FROM audit_signed_heads")
        return None if row is None or row[0] is None else int(row[0])

    def entry_index(self, entry_id: uuid.UUID) -> tuple[bool, int | None]:
        """(found, log index or None while unsequenced)."""
        row = self.one(
            "SELECT log_index FROM audit_entries WHERE entry_id = ?", (self.uuid_param(entry_id),)
        )
        return (False, None) if row is None else (True, row[0])

    def has_index(self, log_index: int) -> bool:
        return self.one("SELECT 1 FROM audit_entries WHERE log_index = ?", (log_index,)) is not None

    def close(self) -> None:
        self.cursor.close()
