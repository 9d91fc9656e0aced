"""The patient directory: encrypted patients, blind indexes, appointments, billing, prescriptions.

Revision ID: 0004_patients
Revises: 0003_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)
BIGINT_PK = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

revision = "0004_patients"
down_revision = "0003_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        *[sa.Column(c, sa.LargeBinary(), nullable=True) for c in (
            "first_name", "last_name", "dob", "phones", "address", "email", "mrn",
            "last_date_of_service")],
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("shredded_at", UTC_TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_patients_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
    )
    op.create_index("ix_patients_tenant_id", "patients", ["tenant_id"])
    op.create_table(
        "patient_lookup",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name="fk_patient_lookup_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_patient_lookup"),
    )
    op.create_index("ix_patient_lookup_patient_id", "patient_lookup", ["patient_id"])
    op.create_index("ix_patient_lookup_search", "patient_lookup", ["tenant_id", "kind", "value"])
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", UTC_TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provider", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name="fk_appointments_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])
    op.create_index("ix_appointments_tenant_start", "appointments", ["tenant_id", "start_at"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.LargeBinary(), nullable=False),
        sa.Column("balance", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name="fk_invoices_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
    )
    op.create_index("ix_invoices_patient_id", "invoices", ["patient_id"])
    for table in ("prescriptions", "lab_results"):
        op.create_table(
            table,
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("tenant_id", sa.Uuid(), nullable=False),
            sa.Column("patient_id", sa.Uuid(), nullable=False),
            sa.Column("name", sa.LargeBinary(), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("updated_at", UTC_TS, nullable=False),
            sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                    name=f"fk_{table}_patient_id_patients"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        )
        op.create_index(f"ix_{table}_patient_id", table, ["patient_id"])


def downgrade() -> None:
    for table in ("lab_results", "prescriptions", "invoices", "appointments", "patient_lookup",
                  "patients"):
        op.drop_table(table)
