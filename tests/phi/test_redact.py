from __future__ import annotations

import pytest

from carecall.core.errors import InvalidInput
from carecall.phi.detector import PhiDetector
from carecall.phi.model import Label
from carecall.phi.redact import MASK, Mode, TokenMap, normalise, redact

DETECTOR = PhiDetector()
TEXT = "my name is maggie oconnell and my number is 555-010-1234"


def test_tag_mode() -> None:
    assert redact(TEXT, DETECTOR.detect(TEXT)) == "my name is [NAME] and my number is [PHONE]"


def test_mask_mode_hides_length() -> None:
    out = redact(TEXT, DETECTOR.detect(TEXT), Mode.MASK)
    assert out == f"my name is {MASK} and my number is {MASK}"


def test_token_mode_is_stable_across_forms_and_restores() -> None:
    tokens = TokenMap()
    lines = [
        TEXT,
        "again that's five five five oh one oh one two three four",
        "and my husband is john smith",
        "this is maggie oconnell again",
    ]
    out = [redact(line, DETECTOR.detect(line), Mode.TOKEN, tokens) for line in lines]
    assert out == [
        "my name is [NAME_1] and my number is [PHONE_1]",
        "again that's [PHONE_1]",
        "and my husband is [NAME_2]",
        "this is [NAME_1] again",
    ]
    assert tokens.restore(out[0]) == TEXT
    again = TokenMap.from_bytes(tokens.to_bytes())
    assert again.restore(out[2]) == "and my husband is john smith"


@pytest.mark.parametrize(
    ("label", "a", "b"),
    [
        (Label.DATE, "March 3rd, 1982", "march third eighty two"),
        (Label.PHONE, "(555) 010-1234", "five five five oh one oh one two three four"),
        (Label.PHONE, "1-555-010-1234", "555 010 1234"),
        (Label.EMAIL, "maggie dot oconnell at gmail dot com", "maggie.oconnell@gmail.com"),
        (Label.NAME, "Maggie O'Connell", "maggie oconnell"),
    ],
)
def test_normalise_same_value(label: Label, a: str, b: str) -> None:
    assert normalise(label, a) == normalise(label, b)


def test_token_mode_needs_a_map() -> None:
    with pytest.raises(InvalidInput):
        redact(TEXT, DETECTOR.detect(TEXT), Mode.TOKEN)


def test_damaged_map_is_refused() -> None:
    with pytest.raises(InvalidInput):
        TokenMap.from_bytes(b"not json")
