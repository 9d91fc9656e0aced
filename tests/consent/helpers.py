"""A practice with a patient who has given written consent for calls and texts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, text
from tests.patients.factories import SYSTEM, make_patient, make_tenant

from carecall.app import Carecall
from carecall.consent import service
from carecall.consent.model import (
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
)
from carecall.patients.service import create_patient
from carecall.tenants.model import Tenant

PHONE = "+16175550142"
CONSENT_TABLES = ("consents", "opt_outs", "consent_reviews", "dnc_numbers", "contact_history")


@dataclass
class Practice:
    tenant: Tenant
    patient_id: uuid.UUID


def practice(app: Carecall, *, consents: bool = True, slug: str = "riverside",
             number: str = "+16175550199") -> Practice:
    tenant = make_tenant(app, slug, number=number)
    pid = create_patient(app, SYSTEM, tenant.id, make_patient(phone=PHONE))
    if consents:
        for kind in (ConsentKind.AUTOMATED_CALLS, ConsentKind.TEXT_MESSAGES):
            service.add_consent(app, SYSTEM, tenant.id, ConsentInput(
                patient_id=pid, phone=PHONE, kind=kind, form=ConsentForm.WRITTEN,
                given_at=app.clock.now() - timedelta(days=30), source=ConsentSource.CONSOLE,
                evidence=Evidence(EvidenceKind.SIGNED_FORM, document=b"%PDF-1.7 signed form",
                                  content_type="application/pdf")))
    return Practice(tenant, pid)


def table_dump(app: Carecall) -> list[str]:
    """Every value of every consent table (and the audit log), as text, for leak checks."""
    out: list[str] = []
    with app.db.transaction() as session:
        for table in (*CONSENT_TABLES, "audit_entries"):
            for row in session.execute(text(f"SELECT * FROM {table}")).all():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value).decode("latin-1"))
                    else:
                        out.append(str(value))
    return out


def count(app: Carecall, table: str) -> int:
    with app.db.transaction() as session:
        return len(session.execute(select(text("1")).select_from(text(table))).all())
