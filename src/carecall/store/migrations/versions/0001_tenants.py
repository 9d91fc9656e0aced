"""Tenants, their public phone numbers and their business associate agreements.

Revision ID: 0001_tenants
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tenants"
down_revision = None
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(60), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("contact_phone", sa.String(20), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("agent_name", sa.String(60), nullable=False),
        sa.Column("recording_mode", sa.String(10), nullable=False),
        sa.Column("retain_raw_transcripts", sa.Boolean(), nullable=False),
        sa.Column("staff_phone", sa.String(20), nullable=True),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("weekly_limit", sa.Integer(), nullable=True),
        sa.Column("session_idle_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    op.create_table(
        "tenant_phone_numbers",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_tenant_phone_numbers_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("number", name="pk_tenant_phone_numbers"),
    )
    op.create_index("ix_tenant_phone_numbers_tenant_id", "tenant_phone_numbers", ["tenant_id"])
    op.create_table(
        "baas",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("permitted_purposes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("terminated_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_baas_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_baas"),
    )
    op.create_index("ix_baas_tenant_id", "baas", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("baas")
    op.drop_table("tenant_phone_numbers")
    op.drop_table("tenants")
