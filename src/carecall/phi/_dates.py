"""Dates: every element except a bare year (45 CFR 164.514(b)(2)(i)(C)).

Explicit forms ("March 3rd, 1982", "march third", "the 3rd of march", "3/3/82") always count;
"on the third" counts as a day of the month; a bare digit run ("oh three oh three eighty two")
counts only when a date was cued or asked for, or it is the patient's known date of birth. A
month alone ("in march") and "may" without a day are left alone.
"""

from __future__ import annotations

from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import words
from carecall.phi.model import Label
from carecall.phi.spoken import ORDINALS, TENS, date_from_digits, dates_in_tokens

_DAY_OF_MONTH_BEFORE = words("on by until before after for since from starting through till")
_ORDINAL_NOUNS = words(
    """
    floor time times dose doses shift one ones try attempt day week visit page row step round
    line option choice appointment opening slot month year refill door building grade place
    """
)
_LAST_DAY = 31


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
    for value, start, end in dates_in_tokens(scan.toks, scan.text):
        first = scan.text[start:end].split(maxsplit=1)[0].lower().strip(",")
        if first == "may" and value.day is None:
            continue
        scan.found.append(Found(start, end, Label.DATE, 8))


def _day_of_month(scan: Scan) -> None:
    """"on the third", "by the twenty first": a day of the current or a named month."""
    for i in range(1, scan.count - 1):
        if scan.norms[i] != "the" or scan.norms[i - 1] not in _DAY_OF_MONTH_BEFORE:
            continue
        used = _day_ordinal(scan, i + 1)
        if used is not None and scan.norm(i + used + 1) not in _ORDINAL_NOUNS:
            scan.add(i, i + used, Label.DATE, 7)


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
    _explicit(scan)
    _day_of_month(scan)
    _digit_dates(scan)
