"""Consent ledger, opt-outs and the internal do-not-call list.

Revision ID: 0008_consent
Revises: 0007_recordings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision = "0008_consent"
down_revision = "0007_recordings"
branch_labels = None
depends_on = None


def _patient_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_patient_id_patients")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=f"fk_{table}_tenant_id_tenants")


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("phone_index", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("form", sa.String(10), nullable=False),
        sa.Column("given_at", UTC_TS, nullable=False),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("revoked_source", sa.String(20), nullable=True),
        sa.Column("evidence_kind", sa.String(20), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        _patient_fk("consents"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_patient_id", "consents", ["patient_id"])
    op.create_index("ix_consents_tenant_phone", "consents", ["tenant_id", "phone_index"])
    op.create_table(
        "opt_outs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("phone_index", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("lifted_at", UTC_TS, nullable=True),
        sa.Column("lifted_source", sa.String(20), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        _tenant_fk("opt_outs"),
        _patient_fk("opt_outs"),
        sa.PrimaryKeyConstraint("id", name="pk_opt_outs"),
    )
    op.create_index("ix_opt_outs_patient_id", "opt_outs", ["patient_id"])
    op.create_index("ix_opt_outs_tenant_phone", "opt_outs", ["tenant_id", "phone_index"])
    op.create_table(
        "consent_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("opt_out_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["opt_out_id"], ["opt_outs.id"], ondelete="CASCADE",
                                name="fk_consent_reviews_opt_out_id_opt_outs"),
        sa.PrimaryKeyConstraint("id", name="pk_consent_reviews"),
    )
    op.create_index("ix_consent_reviews_opt_out_id", "consent_reviews", ["opt_out_id"])
    op.create_index("ix_consent_reviews_tenant_status", "consent_reviews",
                    ["tenant_id", "status"])
    op.create_table(
        "dnc_numbers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("phone_index", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("added_at", UTC_TS, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("removed_at", UTC_TS, nullable=True),
        sa.Column("removed_by", sa.String(200), nullable=True),
        _tenant_fk("dnc_numbers"),
        sa.PrimaryKeyConstraint("id", name="pk_dnc_numbers"),
    )
    op.create_index("ix_dnc_numbers_tenant_phone", "dnc_numbers", ["tenant_id", "phone_index"])
    op.create_table(
        "contact_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("provider_sid", sa.String(64), nullable=True),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        _patient_fk("contact_history"),
        sa.PrimaryKeyConstraint("id", name="pk_contact_history"),
    )
    op.create_index("ix_contact_history_provider_sid", "contact_history", ["provider_sid"])
    op.create_index("ix_contact_history_patient_at", "contact_history",
                    ["tenant_id", "patient_id", "at"])


def downgrade() -> None:
    for table in ("contact_history", "dnc_numbers", "consent_reviews", "opt_outs", "consents"):
        op.drop_table(table)
