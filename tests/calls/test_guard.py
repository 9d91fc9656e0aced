"""The disclosure guard on its own: what it blocks, what it lets through."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from carecall.calls.guard import facts_of, leaks
from carecall.patients.model import Address, Appointment, Invoice, Patient, Prescription

TZ = "America/New_York"


def _patient(first: str, last: str, dob: date, phone: str, start: datetime, provider: str,
             balance: str, drug: str) -> Patient:
    pid = uuid.uuid4()
    return Patient(
        id=pid, tenant_id=uuid.uuid4(), first_name=first, last_name=last, dob=dob,
        phones=(phone,), address=Address("12 Elm Street", "Cambridge", "MA", "02139"),
        invoices=(Invoice("INV-20931", Decimal(balance)),),
        appointments=(Appointment(uuid.uuid4(), pid, start, provider, "Main clinic",
                                  "booked"),),
        prescriptions=(Prescription(uuid.uuid4(), drug, "ready"),),
    )


ME = _patient("Margaret", "O'Connell", date(1982, 3, 3), "+16175550142",
              datetime(2026, 12, 3, 15, tzinfo=UTC), "Dr. Chen", "45.00", "lisinopril")
OTHER = _patient("James", "Kowalski", date(1979, 11, 2), "+16175550150",
                 datetime(2026, 12, 9, 19, tzinfo=UTC), "Dr. Whitfield", "310.50", "metformin")
WATCHED = {str(ME.id): facts_of(ME, TZ), str(OTHER.id): facts_of(OTHER, TZ)}


def _leaks(text: str, verified: str | None = str(ME.id)) -> list[str]:
    return leaks(text, WATCHED, verified=verified, practice_name="Riverside Family Practice",
                 practice_phones=("+16175550100",))


@pytest.mark.parametrize("text", [
    "James Kowalski has an appointment too.",
    "The other patient is booked on Wednesday, December 9 at 2:00 PM.",
    "Their balance is $310.50.",
    "Their metformin is ready.",
    "Call them at 617-555-0150.",
    "Mr. Kowalski called earlier.",
    "Their birthday is November 2, 1979.",
    "They were born on 11/02/1979.",
    "Dr. Whitfield will see them.",
])
def test_another_patients_phi_is_blocked(text: str) -> None:
    assert _leaks(text) == [str(OTHER.id)]


@pytest.mark.parametrize("text", [
    "Your next appointment is on Thursday, December 3 at 10:00 AM with Dr. Chen at Main "
    "clinic.",
    "Your current balance is $45.00.",
    "Your lisinopril prescription is ready for pick-up.",
    "Hello, you've reached Riverside Family Practice, phone 617-555-0100.",
    "We're open Monday to Friday, 8 AM to 5 PM.",
])
def test_the_verified_callers_own_answers_pass(text: str) -> None:
    assert _leaks(text) == []


def test_nobody_verified_means_everyone_is_watched() -> None:
    found = _leaks("Your balance is $45.00 and theirs $310.50.", verified=None)
    assert sorted(found) == sorted([str(ME.id), str(OTHER.id)])


def test_shared_values_belong_to_the_verified_caller() -> None:
    twin = _patient("Margaret", "O'Connell", date(1955, 7, 19), "+16175550177",
                    datetime(2026, 12, 3, 15, tzinfo=UTC), "Dr. Chen", "45.00", "lisinopril")
    watched = {str(ME.id): facts_of(ME, TZ), str(twin.id): facts_of(twin, TZ)}
    said = "Your appointment on Thursday, December 3 at 10:00 AM with Dr. Chen is confirmed."
    assert leaks(said, watched, verified=str(ME.id), practice_name="Riverside",
                 practice_phones=()) == []
    assert leaks("You were born July 19, 1955.", watched, verified=str(ME.id),
                 practice_name="Riverside", practice_phones=()) == [str(twin.id)]
