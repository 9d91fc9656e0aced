"""The key hierarchy: wrapped tenant keys and wrapped per-subject data keys.

Revision ID: 0002_keys
Revises: 0001_tenants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_keys"
down_revision = "0001_tenants"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenant_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("kek_version", sa.String(200), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("destroyed_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_keys"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_tenant_keys_tenant_id"),
        sa.CheckConstraint("state IN ('active', 'retired', 'destroyed')",
                           name="ck_tenant_keys_state"),
    )
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_key_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("destroyed_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_key_id"], ["tenant_keys.id"],
                                name="fk_data_keys_tenant_key_id_tenant_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_data_keys"),
    )
    op.create_index("ix_data_keys_tenant_key_id", "data_keys", ["tenant_key_id"])
    op.create_index("ix_data_keys_tenant_subject", "data_keys", ["tenant_id", "subject_id"])


def downgrade() -> None:
    op.drop_table("data_keys")
    op.drop_table("tenant_keys")
