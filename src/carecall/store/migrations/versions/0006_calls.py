"""Call sessions, turns (redacted and raw transcripts), call events and
per-record verification failures.

Revision ID: 0006_calls
Revises: 0005_access
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)
BIGINT_PK = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

revision = "0006_calls"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("channel_ref", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("brain", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_call_sessions_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_call_sessions"),
        sa.UniqueConstraint("channel_ref", name="uq_call_sessions_channel_ref"),
    )
    op.create_index("ix_call_sessions_tenant_started", "call_sessions",
                    ["tenant_id", "started_at"])
    op.create_table(
        "call_turns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(10), nullable=False),
        sa.Column("redacted", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["call_sessions.id"], ondelete="CASCADE",
                                name="fk_call_turns_call_id_call_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_call_turns"),
    )
    op.create_index("ix_call_turns_call_seq", "call_turns", ["call_id", "seq"])
    op.create_table(
        "call_events",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["call_sessions.id"], ondelete="CASCADE",
                                name="fk_call_events_call_id_call_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_call_events"),
    )
    op.create_index("ix_call_events_call_seq", "call_events", ["call_id", "seq"])
    op.create_table(
        "call_verification_failures",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_verification_failures"),
    )
    op.create_index("ix_call_verification_failures_record", "call_verification_failures",
                    ["tenant_id", "patient_id", "at"])
    op.create_table(
        "call_opt_outs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("phone_index", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_opt_outs"),
    )
    op.create_index("ix_call_opt_outs_phone", "call_opt_outs", ["tenant_id", "phone_index"])
    op.create_table(
        "call_profiles",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_call_profiles_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_call_profiles"),
    )
    op.create_table(
        "call_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", UTC_TS, nullable=False),
        sa.Column("taken_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_call_slots_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_call_slots"),
    )
    op.create_index("ix_call_slots_tenant_start", "call_slots", ["tenant_id", "start_at"])


def downgrade() -> None:
    for table in ("call_slots", "call_profiles", "call_opt_outs", "call_verification_failures",
                  "call_events", "call_turns", "call_sessions"):
        op.drop_table(table)
