from __future__ import annotations

import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext, KnownIdentifiers, Label

DETECTOR = PhiDetector()

FOUND = [
    ("my date of birth is march third nineteen eighty two", None,
     [("march third nineteen eighty two", Label.DATE)]),
    ("born March 3rd, 1982", None, [("March 3rd, 1982", Label.DATE)]),
    ("my number is five five five oh one oh one two three four", None,
     [("five five five oh one oh one two three four", Label.PHONE)]),
    ("it's 555-010-1234", None, [("555-010-1234", Label.PHONE)]),
    ("five five five uh zero one two three", None,
     [("five five five uh zero one two three", Label.PHONE)]),
    ("k o w a l s k i", None, [("k o w a l s k i", Label.NAME)]),
    ("my email is maggie dot oconnell at gmail dot com", None,
     [("maggie dot oconnell at gmail dot com", Label.EMAIL)]),
    ("write to maggie.oconnell@gmail.com", None, [("maggie.oconnell@gmail.com", Label.EMAIL)]),
    ("march third eighty two", "What is your date of birth?",
     [("march third eighty two", Label.DATE)]),
    ("oh three oh three eighty two", "What is your date of birth?",
     [("oh three oh three eighty two", Label.DATE)]),
    ("maggie oconnell", "what's your name", [("maggie oconnell", Label.NAME)]),
    ("my member id is x j h four five six seven eight nine", None,
     [("x j h four five six seven eight nine", Label.HEALTH_PLAN_ID)]),
    ("the last four of my social are one two three four", None,
     [("one two three four", Label.SSN)]),
    ("my social is 123-45-6789", None, [("123-45-6789", Label.SSN)]),
    ("I live at 42 Elm Street, Springfield, Illinois 62704", None,
     [("42 Elm Street, Springfield, Illinois 62704", Label.ADDRESS)]),
    ("i live at forty two elm street apartment three b", None,
     [("forty two elm street apartment three b", Label.ADDRESS)]),
    ("this is john smith calling for my husband robert", None,
     [("john smith", Label.NAME), ("robert", Label.NAME)]),
    ("I'm ninety two years old", None, [("ninety two", Label.AGE)]),
    ("my mrn is 12345678", None, [("12345678", Label.MRN)]),
    ("my fax is five five five oh one oh one nine nine nine", None,
     [("five five five oh one oh one nine nine nine", Label.FAX)]),
    ("can you ask sarah to call me back", None, [("sarah", Label.NAME)]),
    ("my name is grace hill", None, [("grace hill", Label.NAME)]),
    ("go to www dot lakesideclinic dot com", None, [("www dot lakesideclinic dot com",
                                                       Label.URL)]),
    ("the server was 192.0.2.15", None, [("192.0.2.15", Label.IP_ADDRESS)]),
]


@pytest.mark.parametrize(("text", "asked", "expected"), FOUND)
def test_finds(text: str, asked: str | None, expected: list[tuple[str, Label]]) -> None:
    ctx = DetectContext(previous_agent_text=asked) if asked else None
    spans = DETECTOR.detect(text, ctx)
    assert [(s.text, s.label) for s in spans] == expected
    for s in spans:
        assert text[s.start : s.end] == s.text


NOT_PHI = [
    "take five hundred milligrams twice a day",
    "I take 10 mg of lisinopril",
    "I took two pills twenty minutes ago",
    "I'll come back in three weeks",
    "see you at ten thirty",
    "3 pm works for me",
    "my copay was forty five dollars",
    "it was $45.00",
    "my blood pressure was one forty over ninety",
    "blood pressure 140/90",
    "press one for billing, option two",
    "I had surgery in 2019",
    "I used to live in Illinois",
    "may I speak with someone",
    "I will pay the bill tomorrow",
    "is there a grace period",
    "can you mark it as paid",
    "june is fine",
    "I hope so, it is a joy",
    "I'm eighty years old",
    "the nurse said to drink more water",
    "I need a refill of my inhaler please",
]


@pytest.mark.parametrize("text", NOT_PHI)
def test_not_phi(text: str) -> None:
    assert DETECTOR.detect(text) == []


def test_known_name_fuzzy() -> None:
    ctx = DetectContext(known=KnownIdentifiers(names=["Margaret O'Connell"]))
    spans = DETECTOR.detect("yeah it's margret oconnel", ctx)
    assert [(s.text, s.label) for s in spans] == [("margret oconnel", Label.NAME)]


def test_known_dob_without_cue() -> None:
    ctx = DetectContext(known=KnownIdentifiers(dob=date(1982, 3, 3)))
    spans = DETECTOR.detect("it's oh three oh three eighty two", ctx)
    assert [(s.text, s.label) for s in spans] == [("oh three oh three eighty two", Label.DATE)]


def test_bare_digits_without_date_context_are_not_a_date() -> None:
    assert all(s.label is not Label.DATE for s in DETECTOR.detect("oh three oh three eighty two"))


def test_start_up_is_fast() -> None:
    start = time.perf_counter()
    PhiDetector().detect("my name is john smith")
    assert time.perf_counter() - start < 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_spans_are_exact_and_ordered(text: str) -> None:
    spans = DETECTOR.detect(text)
    end = 0
    for s in spans:
        assert end <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        end = s.end


# Gaps reported by the engineers (issue 4 follow-up): each a form of speech, not a sentence.
GAPS = [
    ("this is Adaeze Okonkwo-Pereira calling", None,
     [("Adaeze Okonkwo-Pereira", Label.NAME)]),
    ("my landlord Tobias Wrenfield has the key", None, [("Tobias Wrenfield", Label.NAME)]),
    ("I work at Brightwater Logistics", None, [("Brightwater Logistics", Label.NAME)]),
    ("the letter came from Meridian Widgets Inc", None, [("Meridian Widgets Inc", Label.NAME)]),
    ("call me at (614) 555-0142 extension 23", None,
     [("(614) 555-0142 extension 23", Label.PHONE)]),
    ("area code six one four, then five five five oh one four two", None,
     [("six one four, then five five five oh one four two", Label.PHONE)]),
    ("my fax number is three three oh five five five oh one nine eight", None,
     [("three three oh five five five oh one nine eight", Label.FAX)]),
    ("fax the referral to five five five oh one two two three four four", None,
     [("five five five oh one two two three four four", Label.FAX)]),
    ("my ip is ten dot zero dot zero dot fifty five", None,
     [("ten dot zero dot zero dot fifty five", Label.IP_ADDRESS)]),
    ("she's a hundred and one", None, [("a hundred and one", Label.AGE)]),
    ("my medicare number is one e g four t e five m k seven three", None,
     [("one e g four t e five m k seven three", Label.HEALTH_PLAN_ID)]),
    ("the pacemaker serial is p m x two two four nine one", None,
     [("p m x two two four nine one", Label.DEVICE_ID)]),
    ("plate number seven k l m four one nine", None,
     [("seven k l m four one nine", Label.VEHICLE_ID)]),
    ("vehicle identification number 2T1BURHE0JC043821", None,
     [("2T1BURHE0JC043821", Label.VEHICLE_ID)]),
    ("w eight eight two one four six", "What's your member ID?",
     [("w eight eight two one four six", Label.HEALTH_PLAN_ID)]),
    ("my chart number is four four seven one nine two", None,
     [("four four seven one nine two", Label.MRN)]),
    ("it was march third when i fell", None, [("march third", Label.DATE)]),
    ("DOB 25 July 1970", None, [("25 July 1970", Label.DATE)]),
    ("i live at 12 elm street springfield", None, [("12 elm street springfield", Label.ADDRESS)]),
    ("I moved to Fairbanks last year", None, [("Fairbanks", Label.ADDRESS)]),
    ("my mom lives with us in Fresno now", None, [("Fresno", Label.ADDRESS)]),
    ("my address is 6435 Cedar Lane in Lubbock", None,
     [("6435 Cedar Lane", Label.ADDRESS), ("Lubbock", Label.ADDRESS)]),
    ("send it to 88 birch road apartment four b", None,
     [("88 birch road apartment four b", Label.ADDRESS)]),
    ("mail it to po box 4471 dayton ohio 45401", None,
     [("po box 4471 dayton ohio 45401", Label.ADDRESS)]),
    ("I live at 6173 Harbor Road, Toledo, OH 77988", None,
     [("6173 Harbor Road, Toledo, OH 77988", Label.ADDRESS)]),
    ("I'm in Middlesex county", None, [("Middlesex county", Label.ADDRESS)]),
    ("my zip is 02139-4307", None, [("02139-4307", Label.ADDRESS)]),
    ("my zip code is oh two one three nine", None, [("oh two one three nine", Label.ADDRESS)]),
    ("the website is lakeside clinic dot com", None, [("lakeside clinic dot com", Label.URL)]),
    ("My member ID is 6DR5-WT2-RD63.", None, [("6DR5-WT2-RD63", Label.HEALTH_PLAN_ID)]),
]


@pytest.mark.parametrize(("text", "asked", "expected"), GAPS)
def test_finds_reported_gaps(text: str, asked: str | None,
                             expected: list[tuple[str, Label]]) -> None:
    ctx = DetectContext(previous_agent_text=asked) if asked else None
    assert [(s.text, s.label) for s in DETECTOR.detect(text, ctx)] == expected


GAPS_NOT_PHI = [
    'Traceback (most recent call last): File "/srv/app/main.py", line 12, in handler',
    "I'll come back in march",
    "can we do tuesday instead",
    "I work at night mostly",
    "the insurance company denied it again",
    "the clinic in the next county is closer",
    "I have a bill for 250 dollars from March",
    "the invoice total is two forty nine fifty",
    "I was at Mercy Hospital last week",
]


@pytest.mark.parametrize("text", GAPS_NOT_PHI)
def test_reported_gaps_not_phi(text: str) -> None:
    assert DETECTOR.detect(text) == []
