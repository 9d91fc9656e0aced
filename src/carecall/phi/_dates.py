"""Dates: every element except a bare year (45 CFR 164.514(b)(2)(i)(C)).

Explicit forms ("March 3rd, 1982", "march third", "the 3rd of march", "3/3/82") always count;
"on the third" counts as a day of the month; a bare digit run ("oh three oh three eighty two")
counts only when a date was cued or asked for, or it is the patient's known date of birth. A
month alone ("in march") and "may" without a day are left alone.
"""

from __future__ import annotations

import re

from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import words
from carecall.phi.model import Label
from carecall.phi.spoken import MONTHS, ORDINALS, TENS, date_from_digits, dates_in_tokens

_DAY_OF_MONTH_BEFORE = words("on by until before after for since from starting through till")
_ORDINAL_NOUNS = words(
    """
    floor time times dose doses shift one ones try attempt day week visit page row step round
    line option choice appointment opening slot month year refill door building grade place
    """
)
_LAST_DAY = 31
_COPULAS = words("is was be been are were am 's")
_LIST_END = frozenset({"", ".", ",", "and", "or", "?", "!", ";"})
"""After a day of the month ending a phrase: "... and sent home the twenty fourth"."""
_WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday mon tue tues wed "
                  "thu thur thurs fri sat sun")
_TENS_WORDS = words("twenty thirty")
_MONTH_WORDS = frozenset(MONTHS)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_WRITTEN_RE = re.compile(
    rf"\b(?:(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.\s?\d{{1,2}}(?:st|nd|rd|th)?\b"
    rf"(?:,?\s+(?:\d{{4}}|'\d{{2}})\b)?"  # "Jan. 30", "Nov. 18, 2026"
    rf"|\d{{1,2}}[-/ ]{_MONTH}[-/ ](?:\d{{4}}|\d{{2}})\b"  # "12-Dec-2026"
    rf"|{_MONTH}\s+(?:of\s+)?'\d{{2}}\b"  # "June of '39"
    rf"|(?:the\s+)?\d{{1,2}}\s+of\s+{_MONTH}\b(?:,?\s+\d{{4}}\b)?)",  # "the 4 of March 1950"
    re.IGNORECASE)
"""Written dates the token rules do not read."""
_SCORE_RE = re.compile(r"\b(?:pain|scale|rated?|rating|score|level)\b[^.;]{0,12}$", re.IGNORECASE)
"""Before "6/10": a score out of ten, not a date."""


def _day_ordinal(scan: Scan, i: int) -> int | None:
    """Tokens used by an ordinal day of month at ``i`` ("second", "thirty first", "5th")."""
    n = scan.norm(i)
    if not n:
        return None
    if n in ("twenty", "thirty") and scan.norm(i + 1) in ORDINALS:
        return 2 if TENS[n] + ORDINALS[scan.norm(i + 1)] <= _LAST_DAY else None
    if n in ORDINALS:
        return 1
    if n[:1].isdigit() and n[-2:] in ("st", "nd", "rd", "th") and n[:-2].isdigit():
        return 1 if 1 <= int(n[:-2]) <= _LAST_DAY else None
    return None


def _explicit(scan: Scan) -> None:
    text = scan.text
    for value, start, end in dates_in_tokens(scan.toks, text):
        first = text[start:end].split(maxsplit=1)[0].lower().strip(",")
        if first == "may" and value.day is None:
            continue
        if text[start:end].endswith("/10") and _SCORE_RE.search(text, 0, start):
            continue  # "pain 6/10"
        scan.found.append(Found(start, end, Label.DATE, 8))
    if _MONTH_WORDS.isdisjoint(scan.norms):
        return
    for m in _WRITTEN_RE.finditer(text):
        if not m.group().lower().startswith("may "):
            scan.found.append(Found(m.start(), m.end(), Label.DATE, 8))


def _slashed(scan: Scan) -> None:
    """"oh six slash one two slash nineteen fifty": a date said with its slashes."""
    for run in scan.runs:
        if scan.norm(run.last + 1) != "slash" or len(run.digits) > 2:
            continue
        day = scan.run_from.get(run.last + 2)
        if day is None or len(day.digits) > 2 or scan.norm(day.last + 1) != "slash":
            continue
        year = scan.run_from.get(day.last + 2)
        if year is None or len(year.digits) not in (2, 4):
            continue
        if 1 <= int(run.digits) <= 12 and 1 <= int(day.digits) <= _LAST_DAY:
            scan.found.append(Found(run.start, year.end, Label.DATE, 8))


def _widen(scan: Scan, start: int) -> int:
    """Start of a date widened over a weekday and the "the" and "twenty-" of a day said before
    it ("Tuesday, November 3rd", "the twenty-third of August", "Fri 1/9")."""
    k = next((i for i, tok in enumerate(scan.toks) if tok.start == start), None)
    if k is None:
        return start
    if scan.norm(k - 1) == "-" and scan.norm(k - 2) in _TENS_WORDS and scan.norms[k] in ORDINALS:
        k -= 2
    if scan.norm(k - 1) == "the":
        k -= 1
    j = k - 1 if scan.norm(k - 1) == "," else k
    if scan.norm(j - 1) in _WEEKDAYS and scan.toks[j - 1].is_word:
        k = j - 1
    return scan.toks[k].start


def _day_of_month(scan: Scan) -> None:
    """"on the third", "by the twenty first": a day of the current or a named month."""
    loose: list[tuple[int, int]] = []
    cued = False
    for i in range(1, scan.count - 1):
        if scan.norms[i] != "the":
            continue
        used = _day_ordinal(scan, i + 1)
        if used is None or scan.norm(i + used + 1) in _ORDINAL_NOUNS:
            continue
        if scan.norms[i - 1] in _DAY_OF_MONTH_BEFORE or scan.norms[i - 1] in _WEEKDAYS:
            scan.add(i, i + used, Label.DATE, 7)
            cued = True
        elif scan.norm(i + used + 1) in _LIST_END and scan.norms[i - 1] not in _COPULAS and (
                scan.norms[i + used] not in ("first", "second")):
            loose.append((i, i + used))  # not "he was the first", "the first and the second"
    if cued:  # "admitted on the twenty first and sent home the twenty fourth"
        for first, last in loose:
            scan.add(first, last, Label.DATE, 7)


def _digit_dates(scan: Scan) -> None:
    """Digit runs read as month-day-year where a date is cued, asked or known."""
    dob = scan.known.dob
    for run in scan.runs:
        if len(run.digits) < 4:
            continue
        value = date_from_digits(run)
        if value is None:
            continue
        cue = scan.cue_before(run.first)
        wanted = cue is Label.DATE or (cue is None and Label.DATE in scan.asked)
        if wanted or (dob is not None and value.as_date() == dob):
            scan.found.append(Found(run.start, run.end, Label.DATE, 8))


def dates(scan: Scan) -> None:
    mark = len(scan.found)
    _explicit(scan)
    _slashed(scan)
    _day_of_month(scan)
    _digit_dates(scan)
    for f in scan.found[mark:]:
        f.start = _widen(scan, f.start)
