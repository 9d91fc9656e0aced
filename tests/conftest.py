"""Shared fixtures: real SQLite and real PostgreSQL, migrated with Alembic, clean per test.

Every database test runs once per backend. SQLite always; PostgreSQL when
``CARECALL_TEST_DATABASE_URL`` is set, and then an unreachable server fails the run (it
never silently skips). Each xdist worker gets its own PostgreSQL database, migrated once and
truncated after each test; each SQLite test gets a copy of a migrated template file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carecall.app import Carecall, open_app
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.crypto.providers import create_local_kek
from carecall.store import migrate
from carecall.store.db import Database

# A stand-in for Twilio's REST API (``fake_twilio``), shared by channels, consent, campaigns.
pytest_plugins = ["tests.channels.plugin"]

PG_URL = os.environ.get("CARECALL_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not PG_URL:
        pytest.fail("CARECALL_TEST_DATABASE_URL is not set")
    base = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"carecall_t_{_worker()}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL test database unreachable at {base.render_as_string()}: {exc}")
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate.upgrade(db.engine)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    with db.engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars().all()
        if tables:
            joined = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "carecall.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    cleaner = Database(url)
    _truncate_all(cleaner)
    cleaner.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for a real carecall on the test database, with a real local key file."""
    made = Settings(data_dir=tmp_path / "data", database_url=db_url)
    create_local_kek(made.kek_path)
    return made


@pytest.fixture
def carecall(settings: Settings, clock: FixedClock) -> Iterator[Carecall]:
    app = open_app(settings, clock=clock)
    yield app
    app.close()
