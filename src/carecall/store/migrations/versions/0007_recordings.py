"""Voice legs (carecall's side of each Twilio call) and call recordings: encrypted audio
streams and their redacted copies.

Revision ID: 0007_recordings
Revises: 0006_calls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision = "0007_recordings"
down_revision = "0006_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_legs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(40), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("final_status", sa.String(20), nullable=True),
        sa.Column("answered_by", sa.String(24), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_voice_legs_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_voice_legs"),
        sa.UniqueConstraint("call_sid", name="uq_voice_legs_call_sid"),
    )
    op.create_index("ix_voice_legs_tenant_id", "voice_legs", ["tenant_id"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("leg_id", sa.Uuid(), nullable=False),
        sa.Column("recording_sid", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("redaction", sa.String(10), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=True),
        sa.Column("redacted", sa.LargeBinary(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("stored_at", UTC_TS, nullable=True),
        sa.Column("deleted_remote_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_recordings_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["leg_id"], ["voice_legs.id"], ondelete="CASCADE",
                                name="fk_recordings_leg_id_voice_legs"),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.UniqueConstraint("recording_sid", name="uq_recordings_recording_sid"),
    )
    op.create_index("ix_recordings_tenant_id", "recordings", ["tenant_id"])
    op.create_index("ix_recordings_leg_id", "recordings", ["leg_id"])


def downgrade() -> None:
    op.drop_table("recordings")
    op.drop_table("voice_legs")
