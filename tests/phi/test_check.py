from __future__ import annotations

from datetime import datetime

from carecall.phi.check import AllowList, find_identifiers, has_identifiers
from carecall.phi.model import KnownIdentifiers, Label

ALLOW = AllowList(
    practice_name="Lakeside Family Medicine",
    practice_phones=["555-010-9999"],
    appointments=[datetime(2025, 3, 4, 10, 30)],
)
PATIENT = KnownIdentifiers(names=["Margaret O'Connell"], phones=["555-010-1234"])


def test_reminder_with_only_practice_and_appointment_is_clean() -> None:
    text = ("Lakeside Family Medicine: you have an appointment on March 4th at 10:30. "
            "Call 555-010-9999 to change it. Reply STOP to opt out.")
    assert find_identifiers(text, PATIENT, ALLOW) == []
    assert not has_identifiers(text, PATIENT, ALLOW)


def test_patient_name_and_other_dates_are_identifiers() -> None:
    text = "Hi Margret, Lakeside Family Medicine here. Your DOB 3/3/82 is on file."
    labels = [(s.label, s.text) for s in find_identifiers(text, PATIENT, ALLOW)]
    assert labels == [(Label.NAME, "Margret"), (Label.DATE, "3/3/82")]


def test_any_personal_identifier_without_patient() -> None:
    found = find_identifiers("Your member id is XJH456789", allow=ALLOW)
    assert [s.label for s in found] == [Label.HEALTH_PLAN_ID]


def test_patient_phone_is_an_identifier() -> None:
    found = find_identifiers("We will call you at 555-010-1234.", PATIENT, ALLOW)
    assert [s.label for s in found] == [Label.PHONE]
