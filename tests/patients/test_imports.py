from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from carecall.patients.imports import parse_csv, parse_fhir_bundle

TODAY = date(2026, 11, 23)
HEADER = (
    "first_name,last_name,dob,phone,email,mrn,address_line1,city,state,zip,"
    "last_date_of_service,invoice_number,invoice_balance,appointment_start,"
    "appointment_provider,appointment_location\n"
)
GOOD = (
    "Margaret,O'Connell,1982-03-03,(617) 555-0142,maggie@example.org,MRN-1,"
    "12 Elm Street,Cambridge,MA,02139,2026-10-01,INV-20931,45.00,"
    "2026-12-03T10:00:00-05:00,Dr. Chen,Main clinic\n"
)


def test_valid_csv_parses_everything() -> None:
    records, problems = parse_csv((HEADER + GOOD).encode(), TODAY)
    assert problems == []
    (p,) = records
    assert (p.first_name, p.last_name, p.dob) == ("Margaret", "O'Connell", date(1982, 3, 3))
    assert p.phones == ("+16175550142",)
    assert p.address is not None
    assert p.address.zip == "02139"
    assert p.invoices[0].balance == Decimal("45.00")
    assert p.appointments[0].start.isoformat() == "2026-12-03T15:00:00+00:00"


def test_every_problem_is_reported_with_row_and_field_and_nothing_parsed() -> None:
    bad = (
        "Ann,,1982-13-03,12,not-an-email,,12 Elm,Cambridge,ZZ,2139,2099-01-01,,,,,\n"
        ",Smith,,,,,,,,,,,,2026-12-03T10:00:00,,\n"
    )
    records, problems = parse_csv((HEADER + GOOD + bad).encode(), TODAY)
    assert records == []
    got = {(p.where, p.field) for p in problems}
    assert ("row 3", "last_name") in got
    assert ("row 3", "dob") in got
    assert ("row 3", "phone") in got
    assert ("row 3", "email") in got
    assert ("row 3", "state") in got
    assert ("row 3", "zip") in got
    assert ("row 3", "last_date_of_service") in got
    assert ("row 4", "first_name") in got
    assert ("row 4", "dob") in got
    assert ("row 4", "appointment_start") in got  # no UTC offset
    assert ("row 4", "appointment_provider") in got


def test_problem_messages_never_echo_values() -> None:
    bad = "Zebediah,Quackenbush,1982-02-31,,,,,,,,,,,,,\n"
    _, problems = parse_csv((HEADER + bad).encode(), TODAY)
    text = " ".join(str(p) for p in problems)
    assert "Zebediah" not in text
    assert "1982-02-31" not in text
    assert "row 2: dob" in text


def test_header_problems() -> None:
    _, problems = parse_csv(b"first_name,surname,dob\nA,B,2000-01-01\n", TODAY)
    assert {p.reason for p in problems} == {"required column missing", "unknown column"}


def test_not_utf8_and_empty() -> None:
    assert parse_csv(b"\xff\xfe\x00", TODAY)[1][0].field == "encoding"
    assert parse_csv(HEADER.encode(), TODAY)[1][0].field == "rows"


def test_extra_fields_in_a_row() -> None:
    _, problems = parse_csv(b"first_name,last_name,dob\nA,B,2000-01-01,extra\n", TODAY)
    assert problems[0].field == "columns"


def bundle(*resources: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    ).encode()


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-77"}],
    "name": [{"use": "official", "family": "Kowalski", "given": ["Anna"]}],
    "birthDate": "1975-06-14",
    "telecom": [
        {"system": "phone", "value": "617-555-0177"},
        {"system": "email", "value": "anna@example.org"},
    ],
    "address": [
        {"line": ["5 Harbor Road"], "city": "Boston", "state": "MA", "postalCode": "02118"}
    ],
}
APPOINTMENT = {
    "resourceType": "Appointment",
    "id": "a1",
    "status": "booked",
    "start": "2026-12-03T10:00:00-05:00",
    "end": "2026-12-03T10:30:00-05:00",
    "participant": [
        {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
        {"actor": {"reference": "Practitioner/d1", "display": "Dr. Chen"}, "status": "accepted"},
        {"actor": {"reference": "Location/l1", "display": "Main clinic"}, "status": "accepted"},
    ],
}


def test_fhir_bundle_with_patient_and_appointment() -> None:
    records, problems = parse_fhir_bundle(bundle(PATIENT, APPOINTMENT), TODAY)
    assert problems == []
    (p,) = records
    assert p.mrn == "MRN-77"
    assert p.phones == ("+16175550177",)
    assert p.email == "anna@example.org"
    assert p.appointments[0].provider == "Dr. Chen"
    assert p.appointments[0].location == "Main clinic"


def test_fhir_problems_name_the_resource_and_field() -> None:
    broken = {**PATIENT, "id": "p2", "birthDate": "1975-13-14"}
    orphan = {
        **APPOINTMENT,
        "participant": [{"actor": {"reference": "Patient/nobody"}, "status": "accepted"}],
    }
    records, problems = parse_fhir_bundle(
        bundle(PATIENT, broken, orphan, {"resourceType": "Observation"}), TODAY
    )
    assert records == []
    wheres = {(p.where, p.field) for p in problems}
    assert ("entry[1] Patient", "birthDate") in wheres
    assert ("entry[2] Appointment", "participant") in wheres
    assert ("entry[3] Observation", "resourceType") in wheres


def test_fhir_not_a_bundle_or_not_json() -> None:
    assert parse_fhir_bundle(b"{not json", TODAY)[1][0].field == "json"
    assert parse_fhir_bundle(b'{"resourceType": "Patient"}', TODAY)[1][0].field == "resourceType"
    assert parse_fhir_bundle(bundle(), TODAY)[1][0].field == "entry"
