"""Forms found by the blind training splits dev4a / dev4b (round 4), in new words and numbers:
each value must be found with its label, and each no-PHI line must stay clean."""

from __future__ import annotations

import pytest

from carecall.phi.detector import PhiDetector

DETECTOR = PhiDetector()

FINDS = [
    ("T 312-555-0171  F 312-555-0172", "312-555-0171", "PHONE"),
    ("T 312-555-0171  F 312-555-0172", "312-555-0172", "FAX"),
    ("p: +1 402 555 0118   f: +1 402 555 0119", "+1 402 555 0119", "FAX"),
    ("Age: 93", "93", "AGE"),
    ("Pt 97 y/o F, hx CHF", "97", "AGE"),
    ("my aunt who's ninety six lives alone", "ninety six", "AGE"),
    ("Follow-up booked Mon 2/16 at 9", "Mon 2/16", "DATE"),
    ("Labs drawn Feb. 11, 2025.", "Feb. 11, 2025", "DATE"),
    ("admitted 03-Mar-2025 via ED", "03-Mar-2025", "DATE"),
    ("she came over in April of '52", "April of '52", "DATE"),
    ("born the 9 of June 1944", "the 9 of June 1944", "DATE"),
    ("last visit Monday the 9th, doing well", "Monday the 9th", "DATE"),
    ("dob is one one slash oh four slash nineteen forty", "one one slash oh four slash "
     "nineteen forty", "DATE"),
    ("seen on the third and discharged the ninth", "the ninth", "DATE"),
    ("Signed by K. L. Abernathy-Voss.", "K. L. Abernathy-Voss", "NAME"),
    ("put it under Will Hargrove", "Will Hargrove", "NAME"),
    ("Tech: P. Quennell, license RN.558201", "RN.558201", "LICENSE_NUMBER"),
    ("grp# 55QZ mbr# HMN00731", "HMN00731", "HEALTH_PLAN_ID"),
    ("medicaid ID NY 8841 2290 3 on file", "NY 8841 2290 3", "HEALTH_PLAN_ID"),
    ("last four shown as XXX-XX-7719", "7719", "SSN"),
    ("results at https://203.0.113.8/lab/view today", "https://203.0.113.8/lab/view", "URL"),
    ("log in at my.valleycare.example/start", "my.valleycare.example/start", "URL"),
    ("it's j o s e p h at example dot org", "j o s e p h at example dot org", "EMAIL"),
    ("mail goes to RR 2 Box 14B near the mill", "RR 2 Box 14B", "ADDRESS"),
    ("we live at 40 Calle Del Mar now", "40 Calle Del Mar", "ADDRESS"),
    ("the number on the concentrator is w k three three one nine four", "w k three three one "
     "nine four", "DEVICE_ID"),
    ("he drives for Tri-State Freight on weekends", "Tri-State Freight", "NAME"),
]

CLEAN = [
    "GET /api/v1/status 200 18ms",
    "batch done in 2.35s, 4410 rows",
    "finished in 1h20m, retry in 5m",
    "mem 3.4GiB p95 220ms",
    "hash sha512 ok on release 2.4.1-rc2",
    "INFO 09:12:44 worker-7 idle",
    "oxycodone 5 mg q4h prn",
    "pain 8/10 this morning",
    "HR 70 bpm, RR 18, SpO2 98%",
    "hearing aid model Phonak Lumity L70 fits well",
    "pacemaker battery 8.7 yrs left",
    "made in Malaysia, shipped from Texas",
    "fw=2.3.1 model=G7 ok",
    "he was the first one there",
]


@pytest.mark.parametrize(("text", "value", "label"), FINDS)
def test_finds(text: str, value: str, label: str) -> None:
    spans = DETECTOR.detect(text)
    start = text.index(value)
    end = start + len(value)
    covering = [s for s in spans if s.start <= start and end <= s.end]
    assert covering, f"{value!r} not covered in {text!r}: {spans}"
    assert str(covering[0].label) == label, spans


@pytest.mark.parametrize("text", CLEAN)
def test_clean(text: str) -> None:
    assert DETECTOR.detect(text) == [], text
