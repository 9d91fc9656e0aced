"""The audit log: entries, and the Merkle tree over them.

Revision ID: 0003_audit
Revises: 0002_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit"
down_revision = "0002_keys"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)
BIGINT_PK = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource_type", sa.String(60), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.UniqueConstraint("entry_id", name="uq_audit_entries_entry_id"),
        sa.UniqueConstraint("log_index", name="uq_audit_entries_log_index"),
    )
    op.create_index("ix_audit_entries_tenant_recorded", "audit_entries",
                    ["tenant_id", "recorded_at"])
    op.create_index("ix_audit_entries_unsequenced", "audit_entries", ["log_index", "id"])
    # (the audit work adds the tree tables below this line)
    op.create_table(
        "audit_tree_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_tree_state"),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_audit_tree_nodes"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "audit_signed_heads",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("signed_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_signed_heads"),
        sa.UniqueConstraint("tree_size", name="uq_audit_signed_heads_tree_size"),
    )


def downgrade() -> None:
    op.drop_table("audit_signed_heads")
    op.drop_table("audit_tree_nodes")
    op.drop_table("audit_tree_state")
    op.drop_table("audit_entries")
