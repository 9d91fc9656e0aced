"""The detector always finishes, whatever words a caller strings together.

A caller who said "my name is Tank Morrison" once sent the name rule round the same word for
ever ("tank" is also a device cue), which would have hung the turn that redacts it. These
properties build utterances from the words the rules react to (name cues, identifier cues,
first names, number words, fillers) and require every one to finish within a second with spans
inside the text.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecall.phi import cues
from carecall.phi.detector import PhiDetector

DETECTOR = PhiDetector()

_NAME_CUES = ["my name is", "this is", "it's", "the patient's name is", "calling for",
              "speaking with", "mr", "mrs", "dr", "last name", "first name"]
_WORDS = [
    *sorted(cues.CUE_WORDS), "morrison", "okafor", "patel", "margaret", "tank", "visa",
    "link", "pin", "the", "my",
    "is", "and", "uh", "um", "five", "oh", "double", "nineteen", "eighty", "dot", "at",
    "slash", "dash", "number", "id", "k", "o", "w", "a", "l", "s", "-", ".", ",", "'s",
    "apartment", "suite", "street", "march", "third", "1982", "555-0142", "#",
]
_PIECE = st.one_of(st.sampled_from(_NAME_CUES), st.sampled_from(_WORDS))


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def _expired(signum: int, frame: object) -> None:
        raise TimeoutError("the detector did not finish")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _finishes(text: str) -> None:
    with _deadline(1):
        spans = DETECTOR.detect(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)


@pytest.mark.parametrize("text", [
    "my name is tank morrison",
    "my name is Visa Okafor",
    "the patient's name is Link Doyle",
    "this is Pin Patel, my member id is w 4 4 1",
])
def test_a_name_that_is_also_a_cue_word_is_read_and_finishes(text: str) -> None:
    _finishes(text)
    labels = [s.label for s in DETECTOR.detect(text)]
    assert "NAME" in labels


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECE, min_size=1, max_size=14))
def test_any_string_of_cue_and_name_words_finishes(pieces: list[str]) -> None:
    _finishes(" ".join(pieces))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECE, min_size=1, max_size=10), st.booleans())
def test_capitalised_strings_finish_too(pieces: list[str], title: bool) -> None:
    text = " ".join(p.title() if title else p.upper() for p in pieces)
    _finishes(text)
