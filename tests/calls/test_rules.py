"""The call agent's pure rules: verification, limits, what a caller said."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecall.calls.rules import (
    MAX_CALL_FAILURES,
    Claims,
    Cue,
    Identity,
    Intent,
    VerifyReason,
    cues,
    intent_of,
    record_locked,
    street_matches,
    verify,
    verify_billing,
    within_one_minute,
    yes_no,
)
from carecall.calls.understand import ASK_BILLING, ASK_DOB, ASK_IDENTITY, ASK_SECOND, read_claims

DOB = date(1982, 3, 3)
MAGGIE = Identity(uuid.uuid4(), "Margaret", "O'Connell", DOB, ("+16175550142",), "02139",
                  "12 Elm Street", date(2026, 10, 1), ("INV-20931",))
NAMESAKE = Identity(uuid.uuid4(), "Margaret", "O'Connell", date(1955, 7, 19), ("+16175550177",),
                    "02118", "40 Harbor Road")
TWIN = Identity(uuid.uuid4(), "Margaret", "O'Connell", DOB, ("+16175550188",), "02118")
ALL = [MAGGIE, NAMESAKE]


@pytest.mark.parametrize(("claims", "identifiers"), [
    (Claims(name="margaret o'connell", dob=DOB), ("name", "dob")),
    (Claims(name="margret oconnel", dob=DOB), ("name", "dob")),
    (Claims(dob=DOB, zip="02139"), ("dob", "zip")),
    (Claims(dob=DOB, phone="6175550142"), ("dob", "phone")),
    (Claims(dob=DOB, street="12 elm st"), ("dob", "address")),
    (Claims(name="margaret oconnell", dob=DOB, zip="02139"), ("name", "dob", "zip")),
])
def test_two_identifiers_verify(claims: Claims, identifiers: tuple[str, ...]) -> None:
    result = verify(claims, ALL)
    assert result.verified
    assert result.patient_id == MAGGIE.id
    assert result.identifiers == identifiers


@pytest.mark.parametrize(("claims", "reason"), [
    (Claims(name="margaret oconnell"), VerifyReason.NO_DOB),
    (Claims(zip="02139", phone="6175550142"), VerifyReason.NO_DOB),
    (Claims(dob=DOB), VerifyReason.NEED_SECOND_IDENTIFIER),
    (Claims(name="joan oconnell", dob=DOB), VerifyReason.NO_MATCH),
    (Claims(name="margaret oconnell", dob=date(1982, 3, 4)), VerifyReason.NO_MATCH),
    (Claims(dob=DOB, zip="02118"), VerifyReason.NO_MATCH),
    (Claims(dob=DOB, street="13 elm street"), VerifyReason.NO_MATCH),
])
def test_what_does_not_verify(claims: Claims, reason: VerifyReason) -> None:
    result = verify(claims, ALL)
    assert not result.verified
    assert result.decision.reasons == (reason,)


def test_caller_id_never_counts_but_may_break_a_tie() -> None:
    alone = verify(Claims(dob=DOB), ALL, caller_id="+16175550142")
    assert alone.decision.reasons == (VerifyReason.NEED_SECOND_IDENTIFIER,)
    tie = Claims(name="margaret oconnell", dob=DOB)
    assert verify(tie, [MAGGIE, TWIN]).decision.reasons == (VerifyReason.AMBIGUOUS,)
    picked = verify(tie, [MAGGIE, TWIN], caller_id="+16175550188")
    assert picked.patient_id == TWIN.id
    assert "phone" not in picked.identifiers


def test_namesakes_told_apart_by_dob() -> None:
    result = verify(Claims(name="margaret o connell", dob=date(1955, 7, 19)), ALL)
    assert result.patient_id == NAMESAKE.id


def test_outbound_dialled_number_counts_as_phone() -> None:
    result = verify(Claims(dob=DOB), [MAGGIE], dialled="+16175550142")
    assert result.verified
    assert result.identifiers == ("dob", "phone")
    wrong = verify(Claims(dob=date(1990, 1, 1)), [MAGGIE], dialled="+16175550142")
    assert wrong.counts_as_failure
    assert wrong.against == (MAGGIE.id,)


def test_failures_count_against_partly_matched_and_caller_id_records() -> None:
    result = verify(Claims(name="margaret oconnell", dob=date(1990, 1, 1)), ALL,
                    caller_id="+16175550142")
    assert result.counts_as_failure
    assert MAGGIE.id in result.against


def test_locks_and_third_parties() -> None:
    claims = Claims(name="margaret oconnell", dob=DOB)
    assert verify(claims, ALL, third_party=True).decision.reasons == (VerifyReason.THIRD_PARTY,)
    assert verify(claims, ALL, call_failures=MAX_CALL_FAILURES).decision.reasons == (
        VerifyReason.CALL_LOCKED,)
    assert verify(claims, ALL, call_failures=MAX_CALL_FAILURES - 1).verified
    locked = verify(claims, ALL, locked=frozenset({MAGGIE.id}))
    assert locked.decision.reasons == (VerifyReason.RECORD_LOCKED,)
    assert not locked.counts_as_failure


def test_billing_needs_a_third_identifier() -> None:
    assert verify_billing(Claims(), MAGGIE).reasons == (VerifyReason.BILLING_IDENTIFIER_MISSING,)
    assert verify_billing(Claims(last_visit=date(2026, 10, 1)), MAGGIE).allowed
    assert verify_billing(Claims(invoice="20931"), MAGGIE).allowed
    assert verify_billing(Claims(invoice="20932"), MAGGIE).reasons == (
        VerifyReason.BILLING_NO_MATCH,)
    assert not verify_billing(Claims(last_visit=date(2026, 10, 2)), MAGGIE).allowed


def test_a_last_visit_said_without_its_year_matches_by_day_and_month() -> None:
    assert verify_billing(Claims(last_visit_day="10-01"), MAGGIE).allowed
    assert verify_billing(Claims(last_visit_day="10-02"), MAGGIE).reasons == (
        VerifyReason.BILLING_NO_MATCH,)
    assert read_claims("it was october first", ASK_BILLING).last_visit_day == "10-01"
    assert read_claims("my last visit was the 1st of October", ASK_BILLING).last_visit_day == (
        "10-01")
    # a year-less date outside the billing question is no identifier at all
    assert read_claims("october first", ASK_DOB).last_visit_day is None


NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(("ages_hours", "locked"), [
    ([1, 2, 3, 4], False),
    ([1, 2, 3, 4, 5], True),
    ([1, 2, 3, 4, 24], False),  # the oldest is exactly 24 hours old: outside the window
    ([1, 2, 3, 4, 23.9], True),
    ([0, 0, 0, 0, 0], True),
])
def test_record_lock_window(ages_hours: list[float], locked: bool) -> None:
    times = [NOW - timedelta(hours=h) for h in ages_hours]
    assert record_locked(times, NOW) is locked


@given(st.lists(st.floats(min_value=0, max_value=100), max_size=12))
def test_record_lock_counts_only_the_last_day(ages: list[float]) -> None:
    times = [NOW - timedelta(hours=h) for h in ages]
    assert record_locked(times, NOW) == (sum(1 for h in ages if h < 24) >= 5)


def test_street_matching() -> None:
    assert street_matches("twelve elm street", "12 Elm Street") is False  # digits needed
    assert street_matches("12 elm street", "12 Elm St")
    assert not street_matches("12 oak street", "12 Elm Street")
    assert not street_matches(None, "12 Elm Street")


@pytest.mark.parametrize(("text", "cue"), [
    ("I'm calling for my husband", Cue.THIRD_PARTY),
    ("it's about my mother's appointment", Cue.THIRD_PARTY),
    ("I'm calling on behalf of my roommate", Cue.THIRD_PARTY),
    ("this is her husband", Cue.THIRD_PARTY),
    ("I have chest pain", Cue.RED_FLAG),
    ("I'm having trouble breathing", Cue.RED_FLAG),
    ("I think I'm having a stroke", Cue.RED_FLAG),
    ("stop recording", Cue.STOP_RECORDING),
    ("I don't want this recorded", Cue.STOP_RECORDING),
    ("please stop calling me", Cue.OPT_OUT),
    ("take me off your list", Cue.OPT_OUT),
    ("stop", Cue.OPT_OUT),
    ("are you a robot?", Cue.ROBOT),
    ("is this a real person", Cue.ROBOT),
    ("let me talk to a representative", Cue.HUMAN),
    ("that's all, bye", Cue.GOODBYE),
    ("hold on, let me get her", Cue.HOLD),
    ("you have the wrong number", Cue.WRONG_PARTY),
])
def test_cues(text: str, cue: Cue) -> None:
    assert cue in cues(text)


@pytest.mark.parametrize("text", [
    "no chest pain", "I don't have any chest pain", "when is my appointment",
    "my name is Margaret", "I'm calling about my appointment",
])
def test_no_false_alarms(text: str) -> None:
    assert not cues(text) & {Cue.RED_FLAG, Cue.THIRD_PARTY, Cue.OPT_OUT}


def test_stop_recording_is_not_an_opt_out() -> None:
    assert cues("stop the recording") == frozenset({Cue.STOP_RECORDING})


@pytest.mark.parametrize(("text", "answer"), [
    ("yes", True), ("Yeah sure", True), ("this is she", True), ("speaking", True),
    ("no", False), ("nope", False), ("I'd rather not", False), ("maybe", None),
])
def test_yes_no(text: str, answer: bool | None) -> None:
    assert yes_no(text) is answer


@pytest.mark.parametrize(("text", "intent"), [
    ("when is my appointment", Intent.APPOINTMENT),
    ("I need to reschedule", Intent.RESCHEDULE),
    ("I can't make it tomorrow, cancel it", Intent.CANCEL),
    ("confirm please", Intent.CONFIRM),
    ("what's my balance", Intent.BILLING),
    ("is my prescription ready", Intent.PRESCRIPTION),
    ("are my lab results back", Intent.LABS),
    ("pre-op instructions", Intent.PREOP),
    ("what are your hours", Intent.HOURS),
    ("how do I get there, is there parking", Intent.DIRECTIONS),
    ("hello", None),
])
def test_intents(text: str, intent: Intent | None) -> None:
    assert intent_of(text) is intent


@pytest.mark.parametrize(("text", "asked", "expected"), [
    ("Margaret O'Connell, March third nineteen eighty two", ASK_IDENTITY,
     Claims(name="margaret o'connell", dob=DOB)),
    ("oh three oh three eighty two", ASK_DOB, Claims(dob=DOB)),
    ("zip is oh two one three nine", ASK_SECOND, Claims(zip="02139")),
    ("six one seven five five five oh one four two", ASK_SECOND, Claims(phone="6175550142")),
    ("I live at twelve elm street", ASK_SECOND, Claims(street="12 elm street")),
    ("invoice INV dash two oh nine three one", ASK_BILLING, Claims(invoice="20931")),
    ("my last visit was October first 2026", ASK_BILLING, Claims(last_visit=date(2026, 10, 1))),
    ("Margaret, O apostrophe C O N N E L L", ASK_IDENTITY, Claims(name="margaret oconnell")),
    ("I don't know", ASK_IDENTITY, Claims()),
])
def test_reading_claims(text: str, asked: str, expected: Claims) -> None:
    assert read_claims(text, asked) == expected


def test_one_minute_message() -> None:
    assert within_one_minute("word " * 150)
    assert not within_one_minute("word " * 151)


def test_a_third_identifier_separates_namesakes_born_the_same_day() -> None:
    claims = Claims(name="margaret oconnell", dob=DOB, zip="02118")
    result = verify(claims, [MAGGIE, TWIN])
    assert result.patient_id == TWIN.id
    assert result.identifiers == ("name", "dob", "zip")
    both_wrong = verify(Claims(name="margaret oconnell", dob=DOB, zip="99999"), [MAGGIE, TWIN])
    assert both_wrong.decision.reasons == (VerifyReason.AMBIGUOUS,)


@given(st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)),
       st.sampled_from(["{d:%B} {d.day}, {d.year}", "{d.month}/{d.day}/{d.year}",
                        "{d:%B} {d.day} {d.year}", "the {d.day}th of {d:%B} {d.year}",
                        "{d.month:02d}/{d.day:02d}/{d.year}"]))
def test_dates_of_birth_in_written_forms(day: date, form: str) -> None:
    text = form.format(d=day).replace("1th", "1st").replace("2th", "2nd").replace("3th", "3rd")
    text = text.replace("11st", "11th").replace("12nd", "12th").replace("13rd", "13th")
    assert read_claims(f"my date of birth is {text}", ASK_DOB).dob == day


def test_a_name_said_one_word_at_a_time() -> None:
    from carecall.calls.understand import merge

    first = read_claims("my first name is Margaret", ASK_IDENTITY)
    assert first.name is None
    assert first.identity_count == 0
    assert first.heard_anything
    both = merge(first, read_claims("and my last name is O'Connell", ASK_IDENTITY))
    assert both.name == "margaret o'connell"
    assert both.partial_name is None
    with_dob = merge(both, read_claims("March third 1982", ASK_DOB))
    assert verify(with_dob, ALL).patient_id == MAGGIE.id
