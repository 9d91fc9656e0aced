from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecall.phi.spoken import DateValue, parse_date, parse_digits, parse_spelled, tokenize

DIGIT_CASES = [
    ("five five five oh one oh one two three four", "5550101234"),
    ("555-010-1234", "5550101234"),
    ("five five five uh zero one two three", "5550123"),
    ("double five triple seven", "55777"),
    ("five fifty five, eight six seven, fifty three oh nine", "5558675309"),
    ("nine oh two one oh", "90210"),
    ("one eight hundred", "1800"),
    ("two thousand four", "2004"),
    ("five five five - oh one oh one", "5550101"),
]


@pytest.mark.parametrize(("text", "digits"), DIGIT_CASES)
def test_parse_digits(text: str, digits: str) -> None:
    got = parse_digits(text)
    assert len(got) == 1
    value, start, end = got[0]
    assert value == digits
    assert text[start:end].strip() == text[start:end]


DATE_CASES = [
    ("march third", DateValue(None, 3, 3)),
    ("the 3rd of march", DateValue(None, 3, 3)),
    ("3/3/82", DateValue(1982, 3, 3)),
    ("March 3rd, 1982", DateValue(1982, 3, 3)),
    ("march third nineteen eighty two", DateValue(1982, 3, 3)),
    ("march third eighty two", DateValue(1982, 3, 3)),
    ("twelve fifteen nineteen eighty", DateValue(1980, 12, 15, explicit=False)),
    ("oh three oh three eighty two", DateValue(1982, 3, 3, explicit=False)),
    ("march the twenty first two thousand four", DateValue(2004, 3, 21)),
    ("1982-03-03", DateValue(1982, 3, 3)),
    ("march nineteen eighty two", DateValue(1982, 3, None)),
]


@pytest.mark.parametrize(("text", "value"), DATE_CASES)
def test_parse_date(text: str, value: DateValue) -> None:
    got = parse_date(text)
    assert [g[0] for g in got] == [value]
    assert got[0][1] == 0
    assert got[0][2] == len(text)


@pytest.mark.parametrize("text", ["blood pressure 140/90", "five hundred milligrams", "in 2019"])
def test_not_dates(text: str) -> None:
    assert parse_date(text) == []


@pytest.mark.parametrize(
    ("text", "word"),
    [("k o w a l s k i", "kowalski"), ("K-O-W-A-L", "kowal"), ("m as in mary e g", "meg"),
     ("double l", "ll")],
)
def test_parse_spelled(text: str, word: str) -> None:
    assert [w for w, _, _ in parse_spelled(text)] == [word]


UNIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _speak(digits: str, rng: random.Random) -> str:
    words: list[str] = []
    i = 0
    while i < len(digits):
        style = rng.randrange(5)
        d = digits[i]
        if style == 0 and digits[i : i + 2] == d * 2 and i + 1 < len(digits):
            words += ["double", UNIT_WORDS[int(d)]]
            i += 2
            continue
        if style == 1 and d == "0":
            words.append("oh")
        elif style == 2 and words:
            words += [rng.choice(["uh", "um", ","]), UNIT_WORDS[int(d)]]
        elif style == 3:
            words.append(d)
        else:
            words.append(UNIT_WORDS[int(d)])
        i += 1
    return " ".join(words)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=2, max_size=12), st.integers(0, 2**32))
def test_spoken_digits_round_trip(digits: str, seed: int) -> None:
    spoken = _speak(digits, random.Random(seed))
    # written digit tokens next to each other merge ("5 5" is two tokens, both kept)
    assert "".join(d for d, _, _ in parse_digits(spoken)) == digits


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_offsets_within_bounds(text: str) -> None:
    for tok in tokenize(text):
        assert 0 <= tok.start < tok.end <= len(text)
        assert text[tok.start : tok.end] == tok.text
    for reader in (parse_digits, parse_spelled, parse_date):
        for _, start, end in reader(text):
            assert 0 <= start < end <= len(text)
