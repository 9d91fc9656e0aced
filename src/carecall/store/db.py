"""Engines and units of work.

A ``Database`` owns one engine. ``transaction()`` is the unit of work: the action and its
audit entries are written in it and commit together, or not at all.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from carecall.core.errors import StoreUnavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily; begin them ourselves (see ``_sqlite_begin``)
    # so that a unit of work holds its write lock from its first statement.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _autocommit(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.autocommit = True


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


#: A pooled PostgreSQL connection idle longer than this is pinged before use; one in steady
#: use is not (``pool_pre_ping`` would add a round trip to every unit of work).
IDLE_PING_SECONDS = 10.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # the pool retries the checkout with a fresh connection
        raise DisconnectionError("idle connection is gone") from exc


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for SQLite (embedded) or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No ping per checkout: only connections idle for IDLE_PING_SECONDS are pinged (a server
    # restart during steady use fails one unit of work per process, then SQLAlchemy drops
    # the whole pool); connections are replaced after half an hour regardless.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs["pool_pre_ping"]:
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _checked_out)
    return engine


class _Writer:
    """SQLite's writer queue: a re-entrant lock for the threads of this process, then an
    exclusive ``flock`` on ``<database>-writer.lock`` for the processes sharing the file
    (``carecall serve --workers N``, a CLI command next to the server). Both block in the
    kernel and wake the next waiter at once, where SQLite's busy handler polls with sleeps
    of up to 100 ms. Advisory: a process that writes without it still meets ``BEGIN
    IMMEDIATE`` and the busy timeout, so correctness never depends on it."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._path = path
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._depth == 0 and self._path is not None:
                if self._fd is None or self._pid != os.getpid():  # not an fd a fork inherited
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise
        self._depth += 1

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


def _lock_path(engine: Engine) -> str | None:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return os.path.abspath(name) + "-writer.lock"


class Database:
    """One engine and the session factory bound to it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer. Threads and processes queue here, in order, instead of in
        # SQLite's busy handler, which polls with sleeps of up to 100 ms and so turns a few
        # milliseconds of waiting into a long tail (see ``_Writer``). Re-entrant, so a nested
        # unit of work fails as before rather than hanging.
        self._writer: AbstractContextManager[Any] = (
            _Writer(_lock_path(self.engine)) if self.engine.dialect.name == "sqlite"
            else nullcontext()
        )
        self._reads = self.engine
        if self.engine.dialect.name == "postgresql":
            # Reads (proofs, verify) get their own small pool of autocommit connections with
            # no liveness ping: a proof is one prepared query, and the ping plus the implicit
            # BEGIN and the ROLLBACK on return would triple its round trips. A connection
            # the server dropped fails its first query instead; ``read`` then empties this
            # pool so the next read reconnects.
            kwargs = {**engine_kwargs, "pool_pre_ping": False, "pool_size": 5}
            self._reads = make_engine(url, **kwargs)
            event.listen(self._reads, "connect", _autocommit)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def writer(self) -> AbstractContextManager[Any]:
        """The per-process writer queue ``transaction()`` takes (SQLite; a no-op otherwise),
        for the rare code that begins a write transaction on a connection of its own."""
        return self._writer

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        with self._writer:
            try:
                session = self._sessions()
            except OperationalError as exc:  # pragma: no cover - connection at session start
                raise StoreUnavailable(_unreachable(self.url)) from exc
            try:
                with session.begin():
                    yield session
            except OperationalError as exc:
                if _is_connection_error(exc):
                    raise StoreUnavailable(_unreachable(self.url)) from exc
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A pooled DBAPI connection for read-only work outside any unit of work.

        ``transaction()`` begins SQLite with ``BEGIN IMMEDIATE``, taking the write lock; a
        proof or a verification only reads, so it must neither queue behind writers nor block
        them. Each statement runs on its own snapshot (PostgreSQL read connections are in
        autocommit) unless the caller issues ``BEGIN``; an open transaction is rolled back
        when the connection goes back to the pool. Queries use the driver's own parameter style.
        """
        try:
            conn = self._reads.raw_connection()
        except DBAPIError as exc:
            raise StoreUnavailable(_unreachable(self.url)) from exc
        try:
            yield conn
        except self.engine.dialect.loaded_dbapi.OperationalError as exc:
            message = str(exc).lower()
            if "connect" in message or "terminat" in message or "closed" in message:
                conn.invalidate()
                if self._reads is not self.engine:
                    self._reads.dispose()  # its other connections died with this one
                raise StoreUnavailable(_unreachable(self.url)) from exc
            raise
        finally:
            conn.close()

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise StoreUnavailable(_unreachable(self.url)) from exc

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reads is not self.engine:
            self._reads.dispose()


def _is_connection_error(exc: OperationalError) -> bool:
    return bool(exc.connection_invalidated) or "connect" in str(exc.orig).lower()


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _unreachable(url: str) -> str:
    return (
        f"The database at {redact_url(url)} is unreachable; check CARECALL_DATABASE_URL "
        "and that the server is running."
    )
