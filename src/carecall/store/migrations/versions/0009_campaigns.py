"""Outbound campaigns, their planned decisions, attempts and contact history.

Revision ID: 0009_campaigns
Revises: 0008_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision = "0009_campaigns"
down_revision = "0008_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("max_duration_s", sa.Integer(), nullable=False),
        sa.Column("target_rule", sa.JSON(), nullable=False),
        sa.Column("window_start", UTC_TS, nullable=True),
        sa.Column("window_end", UTC_TS, nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_delay_minutes", sa.Integer(), nullable=False),
        sa.Column("retry_on", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("planned_at", UTC_TS, nullable=True),
        sa.Column("started_at", UTC_TS, nullable=True),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_campaigns_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )
    op.create_index("ix_campaigns_tenant_id", "campaigns", ["tenant_id"])
    op.create_table(
        "campaign_targets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reasons", sa.String(400), nullable=False),
        sa.Column("retry_after", UTC_TS, nullable=True),
        sa.Column("phone_slot", sa.Integer(), nullable=False),
        sa.Column("number_tag", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name="fk_campaign_targets_campaign_id_campaigns"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_targets"),
    )
    op.create_index("ix_campaign_targets_campaign_state", "campaign_targets",
                    ["campaign_id", "state"])
    op.create_table(
        "campaign_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("not_before", UTC_TS, nullable=True),
        sa.Column("reasons", sa.String(400), nullable=False),
        sa.Column("dial_started_at", UTC_TS, nullable=True),
        sa.Column("placed_at", UTC_TS, nullable=True),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.Column("provider_sid", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("reconciled", sa.Boolean(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("enqueued", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name="fk_campaign_attempts_campaign_id_campaigns"),
        sa.ForeignKeyConstraint(["target_id"], ["campaign_targets.id"], ondelete="CASCADE",
                                name="fk_campaign_attempts_target_id_campaign_targets"),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_attempts"),
        sa.UniqueConstraint("target_id", "number", "channel",
                            name="uq_campaign_attempts_target_number"),
    )
    op.create_index("ix_campaign_attempts_provider_sid", "campaign_attempts", ["provider_sid"])
    op.create_index("ix_campaign_attempts_campaign_status", "campaign_attempts",
                    ["campaign_id", "status"])
