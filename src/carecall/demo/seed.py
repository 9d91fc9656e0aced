"""A synthetic demo practice: made-up people with 555-01xx numbers, for trying carecall."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

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
from carecall.patients.service import import_patients
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant, load_tenant

DEMO_SLUG = "demo-clinic"
FIRST = [
    "Margaret",
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Aisha",
    "David",
    "Grace",
    "Daniel",
    "Priya",
    "Thomas",
    "Sofia",
    "Kevin",
    "Nora",
    "Luis",
    "Hannah",
    "Samuel",
    "Chloe",
    "Omar",
]
LAST = [
    "O'Connell",
    "Kowalski",
    "Garcia",
    "Nguyen",
    "Patel",
    "Johnson",
    "Okafor",
    "Smith",
    "Rossi",
    "Müller",
    "Haddad",
    "Brennan",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Reyes",
]
STREETS = ["Elm Street", "Maple Avenue", "Harbor Road", "Cedar Lane", "Prospect Street"]
CITIES = [("Cambridge", "02139"), ("Somerville", "02143"), ("Boston", "02118")]
PROVIDERS = ["Dr. Alvarez", "Dr. Chen", "Dr. Whitfield"]
LOCATIONS = ["Riverside Family Practice, 12 Main Street, suite 200", "Riverside East Clinic"]
DRUGS = ["lisinopril", "metformin", "atorvastatin", "amoxicillin"]


def demo_patients(now: datetime, count: int = 40, seed: int = 7) -> list[PatientInput]:
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not a secret
    zone = ZoneInfo("America/New_York")
    people: list[PatientInput] = []
    for i in range(count):
        first = FIRST[i % len(FIRST)]
        last = LAST[(i * 7) % len(LAST)]
        dob = date(1940 + rng.randrange(70), rng.randrange(1, 13), rng.randrange(1, 29))
        city, zip_code = CITIES[i % len(CITIES)]
        day = (now.astimezone(zone) + timedelta(days=1 + i % 6)).date()
        start = datetime.combine(day, time(9 + i % 8, 30 if i % 2 else 0), zone)
        people.append(
            PatientInput(
                first_name=first,
                last_name=last,
                dob=dob,
                phones=(f"+1617555{200 + i:04d}",) if i else ("+16175550142",),
                address=Address(
                    line1=f"{10 + i} {STREETS[i % len(STREETS)]}",
                    city=city,
                    state="MA",
                    zip=zip_code,
                ),
                email=f"{first.lower()}.{i}@example.org",
                mrn=f"MRN-{100200 + i}",
                last_date_of_service=(now - timedelta(days=20 + i)).date(),
                invoices=(
                    Invoice(
                        number=f"INV-{20900 + i}", balance=Decimal(rng.randrange(0, 40000)) / 100
                    ),
                ),
                appointments=(
                    AppointmentInput(
                        start=start, provider=PROVIDERS[i % 3], location=LOCATIONS[i % 2]
                    ),
                ),
                prescriptions=(
                    PrescriptionInput(
                        name=DRUGS[i % 4], status="ready" if i % 3 == 0 else "pending"
                    ),
                ),
                lab_results=(
                    LabResultInput(name="lipid panel", status="available" if i % 2 else "pending"),
                ),
            )
        )
    return people


def _demo_consents(app: Carecall, principal: Principal, tenant: Tenant,
                   ids: list[uuid.UUID], people: list[PatientInput]) -> None:
    """Written consents (e-signed at registration, 60 days ago) for calls and texts for
    every patient but each fifth, so a reminder campaign has people to plan and some it
    must refuse (NO_WRITTEN_CONSENT)."""
    from carecall.consent.model import (
        ConsentForm,
        ConsentInput,
        ConsentKind,
        ConsentSource,
        Evidence,
        EvidenceKind,
    )
    from carecall.consent.service import add_consents

    given = app.clock.now() - timedelta(days=60)
    consents = [
        ConsentInput(patient_id=pid, phone=person.phones[0], kind=kind,
                     form=ConsentForm.WRITTEN, given_at=given, source=ConsentSource.DEMO,
                     evidence=Evidence(EvidenceKind.E_SIGNATURE, reference=f"ESIGN-DEMO-{i:03d}"))
        for i, (pid, person) in enumerate(zip(ids, people, strict=True))
        if i % 5 != 4
        for kind in (ConsentKind.AUTOMATED_CALLS, ConsentKind.TEXT_MESSAGES)
    ]
    add_consents(app, principal, tenant.id, consents, source=ConsentSource.DEMO)


def seed_demo(app: Carecall, principal: Principal) -> tuple[Tenant, int]:
    """Create the demo practice once; later runs find it and change nothing."""
    with app.db.transaction() as session:
        existing = load_tenant(session, DEMO_SLUG)
    if existing is not None:
        return existing, 0
    tenant = create_tenant(
        app,
        principal,
        Tenant(
            id=new_id(),
            slug=DEMO_SLUG,
            display_name="Riverside Family Practice",
            contact_phone="+16175550100",
            timezone="America/New_York",
            agent_name="Ava",
            phone_numbers=("+16175550199",),
            staff_phone="+16175550111",
            recording_mode="ask",
        ),
    )
    today = app.clock.now().date()
    add_baa(
        app,
        principal,
        tenant.id,
        effective_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=365 * 2),
        signed_by="Dr. Jane Alvarez, Medical Director",
        purposes=frozenset(Purpose),
    )
    people = demo_patients(app.clock.now())
    ids = import_patients(app, principal, tenant.id, people, source="demo")
    _demo_consents(app, principal, tenant, ids, people)
    _call_profile(app, principal, tenant)
    with app.db.transaction() as session:
        loaded = load_tenant(session, tenant.id)
    assert loaded is not None
    return loaded, len(people)


def _call_profile(app: Carecall, principal: Principal, tenant: Tenant) -> None:
    """The practice's words for the call agent, and open times to reschedule into."""
    from carecall.calls.brain import CallProfile
    from carecall.calls.service import add_open_slots, set_call_profile

    set_call_profile(app, principal, tenant.id, CallProfile(
        hours="We're open Monday to Friday, 8 AM to 5 PM, and Saturday 9 AM to noon.",
        directions="We're at 12 Main Street, suite 200, in Cambridge, across from the library. "
        "Parking is free behind the building.",
        instructions={
            "preop": "Please don't eat or drink anything after midnight before your procedure, "
            "and bring a list of your medications and a photo ID.",
            "preregistration": "Please arrive 15 minutes early with your insurance card and "
            "a photo ID.",
            "home_health": "Your home health nurse will call the day before each visit.",
        },
        followup_questions=("How have you been feeling since you went home?",
                            "Are you taking your medications as prescribed?"),
    ))
    zone = ZoneInfo("America/New_York")
    day = (app.clock.now().astimezone(zone) + timedelta(days=2)).date()
    add_open_slots(app, principal, tenant.id, [
        datetime.combine(day + timedelta(days=d), time(h), zone) for d in (0, 1, 3)
        for h in (10, 14)])
