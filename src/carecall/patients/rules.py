"""Pure rules over patient data: normalising identifiers and matching names said aloud.

The call agent needs these to compare what a caller says with the record; the blind indexes
need the same normal forms, or a look-up would miss the row it is looking for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import jellyfish
import phonenumbers
from rapidfuzz.distance import JaroWinkler

_NON_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "GU",
        "VI",
        "AS",
        "MP",
    ]
)

#: First names must be close: "margret" for "margaret" passes, "joan" for "john" does not.
FIRST_NAME_THRESHOLD = 0.90
#: Surnames vary most in speech-to-text; a sound-alike surname may pass at a lower score.
LAST_NAME_THRESHOLD = 0.90
LAST_NAME_PHONETIC_THRESHOLD = 0.84


def normalise_phone(raw: str, region: str = "US") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_dob(value: date) -> str:
    return value.isoformat()


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def valid_zip(value: str) -> bool:
    return bool(_ZIP.match(value))


def fold_name(text: str) -> str:
    """Lower-case ASCII letters and single spaces; apostrophes and hyphens vanish.

    "O'Connell" and "oconnell" fold alike; "k o w a l s k i" (spelled letters) joins to
    "kowalski" because runs of single letters are one spelled word.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    lowered = ascii_text.lower().replace("'", "").replace("\u2019", "").replace("-", "")
    words = _SPACES.sub(" ", _NON_LETTERS.sub(" ", lowered)).strip().split(" ")
    out: list[str] = []
    spelled: list[str] = []
    for word in words:
        if len(word) == 1:
            spelled.append(word)
            continue
        if spelled:
            out.append("".join(spelled))
            spelled = []
        if word:
            out.append(word)
    if spelled:
        out.append("".join(spelled))
    return " ".join(out)


@dataclass(frozen=True)
class NameMatch:
    matched: bool
    first_score: float
    last_score: float


def _best(candidates: list[str], target: str) -> float:
    return max((JaroWinkler.similarity(c, target) for c in candidates), default=0.0)


def _splits(words: list[str]) -> list[tuple[str, str]]:
    """Every way to read the spoken words as (first name, last name), joining the rest.

    "o connell" and "oconnell" both become the surname "oconnell"; "mary ann smith" offers
    ("mary", "ann smith") and ("maryann", "smith").
    """
    pairs: list[tuple[str, str]] = []
    for cut in range(1, len(words)):
        first, last = words[:cut], words[cut:]
        pairs.append(("".join(first), "".join(last)))
        pairs.append((first[0], "".join(last)))
        pairs.append(("".join(first), last[-1]))
    return pairs


def names_match(spoken: str, first_name: str, last_name: str) -> NameMatch:
    """Does a full name as heard (speech-to-text, spelled, no apostrophes) match a record?

    Both the first and the last name must match: a surname alone is shared by a household.
    """
    words = fold_name(spoken).split()
    first = fold_name(first_name).replace(" ", "")
    last = fold_name(last_name).replace(" ", "")
    if len(words) < 2 or not first or not last:
        return NameMatch(False, 0.0, 0.0)
    best = NameMatch(False, 0.0, 0.0)
    last_sound = jellyfish.metaphone(last)
    for said_first, said_last in _splits(words):
        f = JaroWinkler.similarity(said_first, first)
        ln = JaroWinkler.similarity(said_last, last)
        sounds_alike = jellyfish.metaphone(said_last) == last_sound
        ok = f >= FIRST_NAME_THRESHOLD and (
            ln >= LAST_NAME_THRESHOLD or (sounds_alike and ln >= LAST_NAME_PHONETIC_THRESHOLD)
        )
        if ok and not best.matched:
            best = NameMatch(True, f, ln)
        elif ok == best.matched and f + ln > best.first_score + best.last_score:
            best = NameMatch(ok, f, ln)
    return best


def first_name_matches(spoken: str, first_name: str) -> bool:
    """For outbound calls, where the agent asks for the patient by first name only."""
    words = fold_name(spoken).split()
    target = fold_name(first_name).replace(" ", "")
    return bool(target) and _best(words, target) >= FIRST_NAME_THRESHOLD
