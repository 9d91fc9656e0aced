from __future__ import annotations

import pytest

from carecall.patients.rules import (
    first_name_matches,
    fold_name,
    names_match,
    normalise_phone,
    valid_zip,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Connell", "oconnell"),
        ("o connell", "o connell"),  # joined later, by names_match
        ("k o w a l s k i", "kowalski"),
        ("Mary-Ann  Smith", "maryann smith"),
        ("Müller", "muller"),
        ("K-O-W-A-L-S-K-I", "kowalski"),
    ],
)
def test_fold_name(raw: str, expected: str) -> None:
    assert fold_name(raw) == expected


@pytest.mark.parametrize(
    "spoken",
    [
        "Margaret O'Connell",
        "margaret oconnell",
        "margret oconnel",  # speech-to-text spellings
        "margaret o connell",
        "margaret o c o n n e l l",  # spelled surname
        "MARGARET O'CONNELL",
    ],
)
def test_names_match_tolerates_speech_to_text(spoken: str) -> None:
    assert names_match(spoken, "Margaret", "O'Connell").matched


@pytest.mark.parametrize(
    "spoken",
    [
        "margaret",  # first name only
        "oconnell",  # surname only: shared by a household
        "michael oconnell",  # another member of the household
        "margaret smith",
        "joan oconnell",
        "",
    ],
)
def test_names_match_rejects_other_people(spoken: str) -> None:
    assert not names_match(spoken, "Margaret", "O'Connell").matched


def test_joan_is_not_john() -> None:
    assert not names_match("joan smith", "John", "Smith").matched


def test_sound_alike_surname() -> None:
    assert names_match("anna kowalsky", "Anna", "Kowalski").matched


def test_first_name_only_for_outbound() -> None:
    assert first_name_matches("yes this is margaret", "Margaret")
    assert not first_name_matches("this is michael", "Margaret")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(617) 555-0142", "+16175550142"),
        ("617.555.0142", "+16175550142"),
        ("+1 617 555 0142", "+16175550142"),
        ("12", None),
        ("not a phone", None),
    ],
)
def test_normalise_phone(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_zip() -> None:
    assert valid_zip("02139")
    assert valid_zip("02139-1234")
    assert not valid_zip("2139")
    assert not valid_zip("0213a")
