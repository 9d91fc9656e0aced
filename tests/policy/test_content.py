"""Content rules for automated messages: length, identifiers, opt-out, provider, prohibited."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from tests.policy.factories import PRACTICE, SMS, VOICE, request

from carecall.policy import decide
from carecall.policy.content import spoken_seconds
from carecall.policy.model import PatientFacts

APPOINTMENT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # Thursday 3 December, 10:00 in LA
STOP = "Reply STOP to opt out."
SAY_STOP = "To stop these calls, say stop."


def _sms(text: str, **msg: object) -> tuple[str, ...]:
    return decide(request(msg={"text": text, **msg})).codes


def _call(text: str, **msg: object) -> tuple[str, ...]:
    return decide(request(message=VOICE, msg={"text": text, **msg})).codes


def test_call_length_at_150_words_a_minute() -> None:
    words = f"Hello from {PRACTICE}. {SAY_STOP}".split()
    script_150 = " ".join(words + ["word"] * (150 - len(words)))
    assert spoken_seconds(script_150) == 60.0
    assert _call(script_150) == ()
    assert _call(script_150 + " more") == ("CALL_TOO_LONG",)


def test_long_numbers_are_read_digit_by_digit() -> None:
    assert spoken_seconds("call 503-555-0100") == 11 * 0.4
    assert spoken_seconds("at 10:00 on the 3rd") == 5 * 0.4


@pytest.mark.parametrize(("declared", "too_long"), [(None, False), (60, False), (60.5, True),
                                                    (90, True)])
def test_declared_maximum_duration(declared: float | None, too_long: bool) -> None:
    codes = decide(request(message=VOICE, msg={"max_duration_s": declared})).codes
    assert codes == (("CALL_TOO_LONG",) if too_long else ())


@pytest.mark.parametrize("text", [
    f"Hi Maria, {PRACTICE} reminds you of your visit tomorrow. {STOP}",
    f"{PRACTICE}: Maria Gonzalez, your visit is tomorrow. {STOP}",
    f"{PRACTICE}: please confirm your date of birth 04/02/1980. {STOP}",
    f"{PRACTICE}: your visit on Dec 4 at 9am, MRN 123456. {STOP}",
    f"{PRACTICE}: questions? Email maria.g@example.com. {STOP}",
    f"{PRACTICE}: call Dr Smith at 503-555-0199. {STOP}",
    f"{PRACTICE}: your visit at 12 Oak Street, Portland. {STOP}",
])
def test_identifiers_in_a_text_are_refused(text: str) -> None:
    patient = PatientFacts("Maria", "Gonzalez", date(1980, 4, 2))
    decision = decide(request(msg={"text": text}, contact={"patient": patient}))
    assert "CONTENT_HAS_IDENTIFIERS" in decision.codes
    assert decision.retry_after is None


def test_the_practice_and_the_appointments_own_day_and_time_are_not_identifiers() -> None:
    text = (f"{PRACTICE}: reminder of your appointment Thu Dec 3 at 10:00 AM. "
            f"Call 503-555-0100 to change. {STOP}")
    assert _sms(text, appointment_at=APPOINTMENT) == ()
    assert _sms(text.replace("Thu Dec 3", "Thursday, December 3"), appointment_at=APPOINTMENT) == ()
    # another day is somebody's date
    assert "CONTENT_HAS_IDENTIFIERS" in _sms(text.replace("Dec 3", "Dec 9"),
                                             appointment_at=APPOINTMENT)


@pytest.mark.parametrize(("when", "flagged"), [
    ("Thu Dec 3 at 10:00 AM", False),       # upcoming, no year: the next Dec 3
    ("12/03 at 10 AM", False),
    ("December 3, 2026 at 10am", False),
    ("Dec 3, 2025", True),                  # in the past: not an appointment to remind of
    ("Dec 3, 2028", True),                  # more than a year ahead
    ("April 2", True),                      # the patient's birthday, even if upcoming
])
def test_without_appointment_at_an_upcoming_date_is_the_appointments(
    when: str, flagged: bool
) -> None:
    """The ``policy check`` contract carries no appointment: the first date of the coming
    year in the text is taken as the appointment's own; a date of birth lies in the past."""
    text = f"{PRACTICE}: reminder of your appointment {when}. {STOP}"
    patient = PatientFacts("Maria", "Gonzalez", date(1980, 4, 2))
    codes = decide(request(msg={"text": text}, contact={"patient": patient})).codes
    assert ("CONTENT_HAS_IDENTIFIERS" in codes) is flagged


def test_a_birth_date_beside_the_appointment_is_still_refused() -> None:
    text = f"{PRACTICE}: visit Dec 3 at 10am; born 04/02/1980. {STOP}"
    patient = PatientFacts("Maria", "Gonzalez", date(1980, 4, 2))
    codes = decide(request(msg={"text": text}, contact={"patient": patient})).codes
    assert "CONTENT_HAS_IDENTIFIERS" in codes


def test_a_call_script_is_checked_for_identifiers_too() -> None:
    assert "CONTENT_HAS_IDENTIFIERS" in _call(
        f"Hello Maria Gonzalez, this is {PRACTICE}. {SAY_STOP}")


@pytest.mark.parametrize(("text", "missing"), [
    (f"{PRACTICE}: your appointment is tomorrow at 10:00 AM.", True),
    (f"{PRACTICE}: your appointment is tomorrow. Text STOP-ping is not a notice.", True),
    (f"{PRACTICE}: your appointment is tomorrow. Reply STOP to opt out.", False),
    (f"{PRACTICE}: your appointment is tomorrow. reply stop to end.", False),
    (f"{PRACTICE}: your appointment is tomorrow. Reply \u201cSTOP\u201d to end.", False),
])
def test_a_text_needs_reply_stop(text: str, missing: bool) -> None:
    assert ("OPT_OUT_NOTICE_MISSING" in _sms(text)) is missing


@pytest.mark.parametrize(("script", "missing"), [
    (f"This is {PRACTICE} with a reminder about your appointment tomorrow.", True),
    (f"This is {PRACTICE}. Your appointment is tomorrow. Press 1 to confirm.", True),
    (f"This is {PRACTICE}. To stop these calls, say stop.", False),
    (f"This is {PRACTICE}. Press 9 to stop receiving these calls.", False),
    (f"This is {PRACTICE}. To opt out, say opt out or press 9.", False),
    (f"This is {PRACTICE}. If you no longer wish to receive these calls, press 9.", False),
])
def test_a_call_script_needs_a_spoken_opt_out(script: str, missing: bool) -> None:
    assert ("OPT_OUT_NOTICE_MISSING" in _call(script)) is missing


@pytest.mark.parametrize(("text", "missing"), [
    (f"Your appointment is tomorrow. {STOP}", True),
    (f"Riverside: your appointment is tomorrow. {STOP}", True),
    (f"RIVERSIDE  family-practice: your appointment is tomorrow. {STOP}", False),
    (f"{PRACTICE}: your appointment is tomorrow. {STOP}", False),
])
def test_the_practice_is_named(text: str, missing: bool) -> None:
    assert ("PROVIDER_ID_MISSING" in _sms(text)) is missing


@pytest.mark.parametrize("phrase", [
    "Your balance is due.", "Please make a payment.", "You owe us.", "Your bill is ready.",
    "This is about a debt.", "Pay online.", "Bring your copay.", "Your account is past due.",
    "Flu shots on sale!", "20% off teeth whitening.", "Special offer this week.",
    "Visits from $25.",
])
def test_billing_debt_and_marketing_language_is_prohibited(phrase: str) -> None:
    assert "CONTENT_PROHIBITED" in _sms(f"{PRACTICE}: {phrase} {STOP}")


def test_lab_results_are_for_availability_only() -> None:
    ok = f"{PRACTICE}: your lab results are ready; please call us. {STOP}"
    assert _sms(ok, purpose="lab_results") == ()
    bad = f"{PRACTICE}: your test came back positive; please call us. {STOP}"
    assert _sms(bad, purpose="lab_results") == ("CONTENT_PROHIBITED",)


def test_content_rules_do_not_apply_to_calls_placed_by_hand() -> None:
    manual = replace(VOICE, automated=False, text="Maria, your balance is $40. " * 40,
                     max_duration_s=900)
    assert decide(request(message=manual)).allowed


def test_content_rules_apply_to_automated_texts_and_calls_alike() -> None:
    assert decide(request(message=replace(SMS, text=""))).codes == (
        "OPT_OUT_NOTICE_MISSING", "PROVIDER_ID_MISSING")
    assert decide(request(message=replace(VOICE, text=""))).codes == (
        "OPT_OUT_NOTICE_MISSING", "PROVIDER_ID_MISSING")


def test_words_that_only_sound_like_the_patients_name_are_not_identifiers() -> None:
    # the PHI detector's sound-alike match ("more" ~ "Maria") is for misheard speech
    text = f"{PRACTICE}: your appointment is tomorrow. For more information call us. {STOP}"
    assert _sms(text) == ()


def test_an_unusual_name_is_caught_because_it_is_the_patients() -> None:
    patient = PatientFacts("Xochitl", "Quispe", None)
    text = f"{PRACTICE}: xochitl, your appointment is tomorrow. {STOP}"
    decision = decide(request(msg={"text": text}, contact={"patient": patient}))
    assert decision.codes == ("CONTENT_HAS_IDENTIFIERS",)


@pytest.mark.parametrize(("text", "flagged"), [
    (f"{PRACTICE}: we will see you tomorrow. {STOP}", False),
    (f"{PRACTICE}: May we see you tomorrow? {STOP}", False),
    (f"{PRACTICE}: see you tomorrow, May. {STOP}", True),
    (f"{PRACTICE}: reminder for Will: see you tomorrow. {STOP}", True),
])
def test_a_name_that_is_an_ordinary_word_counts_only_as_a_name(text: str, flagged: bool) -> None:
    patient = PatientFacts("May", "Will", None)
    decision = decide(request(msg={"text": text}, contact={"patient": patient}))
    assert ("CONTENT_HAS_IDENTIFIERS" in decision.codes) is flagged
