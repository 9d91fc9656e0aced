"""The audit tables in store.py and in migration 0003 agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carecall.audit import store  # noqa: F401 - registers the audit tables
from carecall.store.db import Database
from carecall.store.schema import metadata


def test_audit_tables_match_the_migration(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )

    def about_audit(item: object) -> bool:
        return "audit_" in repr(item)

    assert [d for d in diff if about_audit(d)] == []
