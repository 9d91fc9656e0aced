"""Factories for tenants and patients used across service tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.core.ids import new_id
from carecall.patients.model import (
    Address,
    AppointmentInput,
    Invoice,
    LabResultInput,
    PatientInput,
    PrescriptionInput,
)
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant

SYSTEM = Principal.system("test")


def make_tenant(
    app: Carecall, slug: str = "riverside", *, baa: bool = True, number: str = "+16175550199"
) -> Tenant:
    tenant = create_tenant(
        app,
        SYSTEM,
        Tenant(
            id=new_id(),
            slug=slug,
            display_name=f"{slug.title()} Practice",
            contact_phone="+16175550100",
            timezone="America/New_York",
            agent_name="Ava",
            phone_numbers=(number,),
        ),
    )
    if baa:
        today = app.clock.now().date()
        add_baa(
            app,
            SYSTEM,
            tenant.id,
            effective_on=today - timedelta(days=10),
            expires_on=today + timedelta(days=365),
            signed_by="Dr. A",
            purposes=frozenset(Purpose),
        )
    return tenant


def make_patient(
    first: str = "Margaret",
    last: str = "O'Connell",
    dob: date = date(1982, 3, 3),
    phone: str = "+16175550142",
) -> PatientInput:
    return PatientInput(
        first_name=first,
        last_name=last,
        dob=dob,
        phones=(phone,),
        address=Address(line1="12 Elm Street", city="Cambridge", state="MA", zip="02139"),
        email="maggie@example.org",
        mrn="MRN-100200",
        last_date_of_service=date(2026, 10, 1),
        invoices=(Invoice(number="INV-20931", balance=Decimal("45.00")),),
        appointments=(
            AppointmentInput(
                start=datetime(2026, 12, 3, 15, tzinfo=UTC),
                provider="Dr. Chen",
                location="Main clinic",
            ),
        ),
        prescriptions=(PrescriptionInput(name="lisinopril", status="ready"),),
        lab_results=(LabResultInput(name="lipid panel", status="available"),),
    )
