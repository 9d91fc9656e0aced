"""Hand-off assignments: which user took which handed-off call, for which patient, until when.

Revision ID: 0010_handoffs
Revises: 0009_campaigns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision = "0010_handoffs"
down_revision = "0009_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        # Equal to call_id while the assignment is open, NULL once it ends: the unique
        # constraint allows one open claim per call (NULLs never collide, on either engine).
        sa.Column("open_call_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("end_reason", sa.String(20), nullable=True),
        # Failed identifications of an unverified caller on this claim (3 lock it).
        sa.Column("identify_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_handoff_assignments_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["call_id"], ["call_sessions.id"], ondelete="CASCADE",
                                name="fk_handoff_assignments_call_id_call_sessions"),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_handoff_assignments_agent_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_assignments"),
        sa.UniqueConstraint("open_call_id", name="uq_handoff_assignments_open_call_id"),
    )
    op.create_index("ix_handoff_assignments_tenant_id", "handoff_assignments", ["tenant_id"])
    op.create_index("ix_handoff_assignments_call_id", "handoff_assignments", ["call_id"])
    op.create_index("ix_handoff_assignments_agent_patient", "handoff_assignments",
                    ["agent_id", "patient_id"])


def downgrade() -> None:
    op.drop_index("ix_handoff_assignments_agent_patient", table_name="handoff_assignments")
    op.drop_index("ix_handoff_assignments_call_id", table_name="handoff_assignments")
    op.drop_index("ix_handoff_assignments_tenant_id", table_name="handoff_assignments")
    op.drop_table("handoff_assignments")
