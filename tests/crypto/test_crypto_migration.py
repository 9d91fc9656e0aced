"""Migration 0002_keys creates exactly the key tables that crypto/store.py declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from carecall.crypto.store import data_keys, tenant_keys
from carecall.store.db import Database

OURS = {"tenant_keys", "data_keys"}


def _tables_named(diff: Any) -> set[str]:
    found: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item:
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or (
                part if isinstance(part, str) and part in OURS else None)
            if hasattr(part, "columns") and hasattr(part, "fullname"):
                name = part.name
            if name:
                found.add(name)
    return found


def test_migration_matches_metadata(db: Database) -> None:
    only_ours = MetaData(naming_convention=tenant_keys.metadata.naming_convention)
    for table in (tenant_keys, data_keys):
        table.to_metadata(only_ours)
    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), only_ours)
    ours = [d for d in diffs if _tables_named(d) & OURS]
    assert ours == []


def test_constraint_and_index_names(db: Database) -> None:
    inspector = inspect(db.engine)
    assert inspector.get_pk_constraint("tenant_keys")["name"] == "pk_tenant_keys"
    assert {u["name"] for u in inspector.get_unique_constraints("tenant_keys")} \
        == {"uq_tenant_keys_tenant_id"}
    assert {i["name"] for i in inspector.get_indexes("data_keys")} \
        == {"ix_data_keys_tenant_key_id", "ix_data_keys_tenant_subject"}
    assert [f["name"] for f in inspector.get_foreign_keys("data_keys")] \
        == ["fk_data_keys_tenant_key_id_tenant_keys"]
