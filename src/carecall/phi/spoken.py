"""Spoken-form reading of speech-to-text output, keeping character offsets.

Speech-to-text output arrives formatted ("555-010-1234", "March 3rd, 1982") or raw and spoken
("five five five oh one oh one two three four", "march third nineteen eighty two"). Packages
such as word2number, text2num and dateparser lose the offsets or read digit strings as
quantities ("five five five" is not 15), so carecall reads them itself. The PHI detector and the
call agent (which must read a caller's date of birth or phone number) share these functions.

Everything here is pure and allocation-light: one regular-expression pass makes the tokens and
each reader walks them once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_TOKEN_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[0-9]+(?:st|nd|rd|th)?|\S")

UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}
TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
FILLERS = frozenset({"uh", "um", "er", "ah", "erm", "hmm", "umm", "uhh", "mm"})
_SEPARATOR_PUNCT = frozenset({"-", ",", ".", "(", ")", "\u2013", "\u2014", "\u2026", "+"})
_SEPARATOR_WORDS = frozenset({"dash", "hyphen"})
_REPEAT = {"double": 2, "triple": 3}
_NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | {"hundred", "thousand"}


@dataclass(frozen=True, slots=True)
class Token:
    """One word, digit group or punctuation mark; ``norm`` is lower case."""

    text: str
    norm: str
    start: int
    end: int

    @property
    def is_digits(self) -> bool:
        return isdigits(self.norm[0])

    @property
    def is_word(self) -> bool:
        return self.norm[0].isascii() and self.norm[0].isalpha()


def isdigits(text: str) -> bool:
    """ASCII digits only: "²" and other Unicode digits are not spoken numbers."""
    return text.isascii() and text.isdigit()


def tokenize(text: str) -> list[Token]:
    return [
        Token(m.group(), m.group().lower(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)
    ]


@dataclass(frozen=True, slots=True)
class NumberRun:
    """A stretch of digits, number words and in-number pauses read as one digit string.

    ``groups`` keeps how the speaker grouped the digits ("five fifty five" is ["5", "55"]),
    which is what tells "twelve fifteen nineteen eighty" apart as a date. ``quantity`` is set
    when the run used "hundred" or "thousand", the mark of an amount rather than an identifier.
    ``first``/``last`` are token indices (inclusive).
    """

    digits: str
    groups: tuple[str, ...]
    start: int
    end: int
    first: int
    last: int
    quantity: bool
    spoken: bool


def _is_number_token(tok: Token) -> bool:
    n = tok.norm
    return (isdigits(n[0]) and isdigits(n)) or n in _NUMBER_WORDS


def _read_small(toks: list[Token], i: int) -> tuple[int, int] | None:  # noqa: PLR0911
    """Read 1..99 in words at ``i``: (value, tokens used)."""
    n = toks[i].norm
    if n in TENS:
        if i + 1 < len(toks) and toks[i + 1].norm in UNITS and toks[i + 1].norm not in (
            "zero", "oh", "o",
        ):
            return TENS[n] + UNITS[toks[i + 1].norm], 2
        if i + 2 < len(toks) and toks[i + 1].norm == "-" and toks[i + 2].norm in UNITS:
            return TENS[n] + UNITS[toks[i + 2].norm], 3
        return TENS[n], 1
    if n in TEENS:
        return TEENS[n], 1
    if n in UNITS and n not in ("oh", "o"):
        return UNITS[n], 1
    if n == "a" and i + 1 < len(toks) and toks[i + 1].norm in ("hundred", "thousand"):
        return 1, 1
    return None


def read_element(toks: list[Token], i: int) -> tuple[str, int, bool] | None:  # noqa: PLR0911, PLR0912
    """Read one spoken group at ``i``: (digits, tokens used, is a quantity)."""
    tok = toks[i]
    n = tok.norm
    if isdigits(n):
        return n, 1, False
    if n in _REPEAT and i + 1 < len(toks):
        nxt = toks[i + 1].norm
        if nxt in UNITS:
            return str(UNITS[nxt]) * _REPEAT[n], 2, False
        if isdigits(nxt) and len(nxt) == 1:
            return nxt * _REPEAT[n], 2, False
        return None
    if n in ("oh", "o"):
        return "0", 1, False
    small = _read_small(toks, i)
    if small is None:
        return None
    value, used = small
    j = i + used
    quantity = False
    if j < len(toks) and toks[j].norm == "hundred" and value < 100:
        value *= 100
        j += 1
        quantity = True
        rest = _read_rest(toks, j)
        if rest is not None:
            value += rest[0]
            j = rest[1]
    if j < len(toks) and toks[j].norm == "thousand" and value < 1000:
        value *= 1000
        j += 1
        quantity = True
        k = j
        if k < len(toks) and toks[k].norm == "and":
            k += 1
        if k < len(toks) and toks[k].norm not in ("oh", "o"):
            sub = _read_small(toks, k)
            if sub is not None:
                sv, su = sub
                k += su
                if k < len(toks) and toks[k].norm == "hundred":
                    sv *= 100
                    k += 1
                    rest = _read_rest(toks, k)
                    if rest is not None:
                        sv += rest[0]
                        k = rest[1]
                value += sv
                j = k
    if quantity:
        return str(value), j - i, True
    if used == 1 and n in UNITS:
        return str(value), 1, False
    return f"{value:02d}" if value >= 10 else str(value), j - i, False


def _read_rest(toks: list[Token], j: int) -> tuple[int, int] | None:
    """After "hundred": an optional "and" then 1..99."""
    k = j
    if k < len(toks) and toks[k].norm == "and":
        k += 1
    if k < len(toks):
        sub = _read_small(toks, k)
        if sub is not None:
            return sub[0], k + sub[1]
    return None


def _is_joiner(toks: list[Token], k: int, text: str) -> bool:
    tok = toks[k]
    if tok.norm in FILLERS or tok.norm in _SEPARATOR_WORDS:
        return True
    if tok.norm in _SEPARATOR_PUNCT:
        ellipsis = ((k + 1 < len(toks) and toks[k + 1].norm == "." and toks[k + 1].start == tok.end)
                    or (k > 0 and toks[k - 1].norm == "." and toks[k - 1].end == tok.start))
        if tok.norm == "." and not ellipsis and (  # noqa: SIM103
            (tok.start > 0 and text[tok.start - 1].isspace())
            or (tok.end < len(text) and text[tok.end].isspace())
        ):
            return False
        return True
    return False


def _starts_number(toks: list[Token], i: int) -> bool:
    """A number may start here; "OH" written in capitals before written digits is the state
    in "Toledo, OH 43604", not a zero."""
    tok = toks[i]
    n = tok.norm
    nxt = toks[i + 1].norm if i + 1 < len(toks) else ""
    if tok.text == "OH" and nxt[:1].isdigit():
        return False
    return _is_number_token(tok) or n in _REPEAT or n == "oh" or (n == "a" and nxt == "hundred")


def number_runs(toks: list[Token], text: str) -> list[NumberRun]:
    """Every maximal run of digits and number words, with in-number pauses skipped."""
    runs: list[NumberRun] = []
    i = 0
    count = len(toks)
    while i < count:
        if not _starts_number(toks, i):
            i += 1
            continue
        groups: list[str] = []
        quantity = False
        spoken = False
        first = i
        last = i
        j = i
        while j < count:
            element = read_element(toks, j)
            if element is None:
                # skip fillers and separators only when a number follows them
                k = j
                while k < count and _is_joiner(toks, k, text):
                    k += 1
                if k > j and k < count and groups and read_element(toks, k) is not None:
                    j = k
                    continue
                break
            digits, used, is_qty = element
            if not isdigits(toks[j].norm[0]):
                spoken = True
            groups.append(digits)
            quantity = quantity or is_qty
            last = j + used - 1
            j += used
        lone_oh = len(groups) == 1 and toks[first].norm in ("o", "oh") and last == first
        if lone_oh and ((first > 0 and toks[first - 1].norm in ("dot", "point"))
                        or (last + 1 < count and toks[last + 1].norm in ("dot", "point"))):
            lone_oh = False
        if not groups or lone_oh:
            i = max(j, i + 1)
            continue
        runs.append(
            NumberRun(
                digits="".join(groups),
                groups=tuple(groups),
                start=toks[first].start,
                end=toks[last].end,
                first=first,
                last=last,
                quantity=quantity,
                spoken=spoken,
            )
        )
        i = last + 1
    return runs


def parse_digits(text: str) -> list[tuple[str, int, int]]:
    """Digit strings as said or written: "five five five oh one oh one two three four" is
    "5550101234", "555-010-1234" the same; (digits, start, end) per run, in order."""
    toks = tokenize(text)
    return [(run.digits, run.start, run.end) for run in number_runs(toks, text)]


# ---- spelled letters -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterRun:
    """Single letters said one by one ("k o w a l s k i", "K-O-W", "m as in mary")."""

    letters: str
    start: int
    end: int
    first: int
    last: int


def letter_at(toks: list[Token], i: int) -> tuple[str, int] | None:
    n = toks[i].norm
    if n in _REPEAT and i + 1 < len(toks) and len(toks[i + 1].norm) == 1:
        if toks[i + 1].norm.isalpha():
            return toks[i + 1].norm * _REPEAT[n], 2
        return None
    if len(n) == 1 and n.isascii() and n.isalpha():
        # "m as in mary" / "m like mary" / "m for mary"
        if i + 3 < len(toks) and toks[i + 1].norm == "as" and toks[i + 2].norm == "in":  # noqa: SIM102
            if toks[i + 3].norm.startswith(n):
                return n, 4
        if i + 2 < len(toks) and toks[i + 1].norm in ("like", "for"):  # noqa: SIM102
            if toks[i + 2].norm.startswith(n) and len(toks[i + 2].norm) > 2:
                return n, 3
        return n, 1
    return None


def letter_runs(toks: list[Token], minimum: int = 2) -> list[LetterRun]:
    runs: list[LetterRun] = []
    i = 0
    count = len(toks)
    while i < count:
        got = letter_at(toks, i)
        if got is None:
            i += 1
            continue
        letters = [got[0]]
        first = i
        last = i + got[1] - 1
        j = last + 1
        while j < count:
            k = j
            while k < count and toks[k].norm in ("-", ".", ","):
                k += 1
            nxt = letter_at(toks, k) if k < count else None
            if nxt is None:
                break
            letters.append(nxt[0])
            last = k + nxt[1] - 1
            j = last + 1
        word = "".join(letters)
        if len(word) >= minimum:
            runs.append(LetterRun(word, toks[first].start, toks[last].end, first, last))
        i = last + 1
    return runs


def parse_spelled(text: str) -> list[tuple[str, int, int]]:
    """Words spelled letter by letter: "k o w a l s k i" is "kowalski"; (word, start, end)."""
    return [(r.letters, r.start, r.end) for r in letter_runs(tokenize(text))]


# ---- dates -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateValue:
    """The parts of a date that were said; ``explicit`` is false for bare digit strings
    ("oh three oh three eighty two"), which are dates only when the context asks for one."""

    year: int | None
    month: int | None
    day: int | None
    explicit: bool = True

    def as_date(self) -> date | None:
        if self.year is None or self.month is None or self.day is None:
            return None
        try:
            return date(self.year, self.month, self.day)
        except ValueError:
            return None

    def key(self) -> str:
        """A canonical text form, the same for every way of saying one date."""
        y = f"{self.year:04d}" if self.year is not None else "????"
        m = f"{self.month:02d}" if self.month is not None else "??"
        d = f"{self.day:02d}" if self.day is not None else "??"
        return f"{y}-{m}-{d}"


PIVOT_YEAR = 30
"""Two-digit years at or below this are 20xx, above it 19xx (a caller's "eighty two" is 1982,
"oh four" is 2004)."""


def full_year(two_or_four: str) -> int | None:
    if len(two_or_four) == 4:
        year = int(two_or_four)
        return year if 1880 <= year <= 2100 else None
    if len(two_or_four) == 2:
        yy = int(two_or_four)
        return 2000 + yy if yy <= PIVOT_YEAR else 1900 + yy
    return None


_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d/.-])(?:(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})|(\d{1,2})([-/.])(\d{1,2})\5(\d{4}|\d{2}))(?![\d/]|\.\d)"
)
_MONTH_DAY_RE = re.compile(r"(?<![\d/.])(\d{1,2})/(\d{1,2})(?![\d/])")


def _ordinal_at(toks: list[Token], i: int) -> tuple[int, int] | None:  # noqa: PLR0911
    """A day of month said as an ordinal or a number: (day, tokens used)."""
    if i >= len(toks):
        return None
    n = toks[i].norm
    if isdigits(n[0]):
        digits = n.rstrip("stndrh")
        if isdigits(digits) and 1 <= int(digits) <= 31 and len(digits) <= 2:
            return int(digits), 1
        return None
    if n in ("twenty", "thirty") and i + 1 < len(toks):
        nxt = toks[i + 1].norm
        k = i + 1
        if nxt == "-" and i + 2 < len(toks):
            k = i + 2
            nxt = toks[k].norm
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            day = TENS[n] + ORDINALS[nxt]
            return (day, k - i + 1) if day <= 31 else None
        if nxt in UNITS and nxt not in ("oh", "o", "zero"):
            day = TENS[n] + UNITS[nxt]
            return (day, k - i + 1) if day <= 31 else None
    if n in ORDINALS:
        return ORDINALS[n], 1
    if n in TEENS:
        return TEENS[n], 1
    if n in ("twenty", "thirty"):
        return TENS[n], 1
    if n in UNITS and n not in ("oh", "o", "zero"):
        return UNITS[n], 1
    return None


def _year_at(toks: list[Token], i: int, text: str) -> tuple[int, int] | None:
    """A year after a day or month: (year, index of the last token used)."""
    j = i
    if j < len(toks) and toks[j].norm == ",":
        j += 1
    if j < len(toks) and toks[j].norm in ("of", "in"):
        j += 1
    if j >= len(toks):
        return None
    runs = number_runs(toks[j : j + 6], text)
    if not runs or runs[0].first != 0:
        return None
    run = runs[0]
    digits = run.digits
    if run.groups and run.groups[0] in ("0",) and len(run.groups) >= 2 and len(digits) == 2:
        year = full_year(digits)  # "oh four"
    elif len(digits) in (2, 4):
        year = full_year(digits)
    else:
        return None
    if year is None:
        return None
    return year, j + run.last


def _month_at(toks: list[Token], i: int) -> int | None:
    n = toks[i].norm
    if n in MONTHS:
        if len(n) <= 4 and n not in ("may", "june", "july") and i + 1 < len(toks):
            # "mar", "dec" etc. only as abbreviations, i.e. with a day after them
            return MONTHS[n]
        return MONTHS[n]
    return None


def _day_before_month(toks: list[Token], i: int) -> bool:
    """"25 July 1970", "10 december": written digits right before a month name (not "may",
    which needs a year after it to be a month there)."""
    if not isdigits(toks[i].norm) or i + 1 >= len(toks) or toks[i + 1].norm not in MONTHS:
        return False
    if toks[i + 1].norm != "may":
        return True
    return i + 2 < len(toks) and isdigits(toks[i + 2].norm) and len(toks[i + 2].norm) == 4


def dates_in_tokens(toks: list[Token], text: str) -> list[tuple[DateValue, int, int]]:  # noqa: PLR0912, PLR0915
    """Dates with a month name, ordinal days and numeric forms (explicit dates only)."""
    found: list[tuple[DateValue, int, int]] = []
    used_until = -1
    for m in _NUMERIC_DATE_RE.finditer(text):
        if m.group(1):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            mo, d = int(m.group(4)), int(m.group(6))
            y = full_year(m.group(7)) or 0
        if 1 <= mo <= 12 and 1 <= d <= 31 and y:
            found.append((DateValue(y, mo, d), m.start(), m.end()))
    for m in _MONTH_DAY_RE.finditer(text):
        mo, d = int(m.group(1)), int(m.group(2))
        before = text[max(0, m.start() - 24) : m.start()].lower()
        if 1 <= mo <= 12 and 1 <= d <= 31 and "pressure" not in before and "bp" not in before:  # noqa: SIM102
            if not any(s <= m.start() < e for _, s, e in found):
                found.append((DateValue(None, mo, d), m.start(), m.end()))
    count = len(toks)
    for i in range(count):
        if i <= used_until:
            continue
        tok = toks[i]
        month = _month_at(toks, i)
        if month is not None:
            # month [the] day [,] [year]   |   month [of] year
            j = i + 1
            if j < count and toks[j].norm == "the":
                j += 1
            day = _ordinal_at(toks, j)
            if day is not None and j + day[1] < count and toks[j + day[1]].norm in (
                "hundred", "thousand",
            ):
                day = None
            if day is not None and day[1] == 1 and toks[j].norm in TEENS:
                # "march nineteen eighty two": the "day" is the year's first half
                whole = _year_at(toks, j, text)
                if whole is not None and whole[0] >= 1900 and whole[1] > j:
                    found.append((DateValue(whole[0], month, None), tok.start, toks[whole[1]].end))
                    used_until = whole[1]
                    continue
            if day is not None:
                last = j + day[1] - 1
                year = _year_at(toks, last + 1, text)
                if year is not None:
                    last = year[1]
                found.append(
                    (DateValue(year[0] if year else None, month, day[0]), tok.start, toks[last].end)
                )
                used_until = last
                continue
            year = _year_at(toks, i + 1, text)
            if year is not None and (year[0] >= 1900 or toks[i + 1].norm == "of"):
                found.append((DateValue(year[0], month, None), tok.start, toks[year[1]].end))
                used_until = year[1]
            continue
        # [the] day of month [year]
        day = _ordinal_at(toks, i)
        if day is None or not (
            toks[i].norm in ORDINALS
            or (isdigits(toks[i].norm[0]) and not isdigits(toks[i].norm))
            or (day[1] == 2 and toks[i + 1].norm in ORDINALS)
            or _day_before_month(toks, i)
        ):
            continue
        j = i + day[1]
        if j < count and toks[j].norm == "of":
            j += 1
        if j < count and toks[j].norm in MONTHS:
            start_i = i - 1 if i > 0 and toks[i - 1].norm == "the" else i
            year = _year_at(toks, j + 1, text)
            last = year[1] if year else j
            found.append(
                (DateValue(year[0] if year else None, MONTHS[toks[j].norm], day[0]),
                 toks[start_i].start, toks[last].end)
            )
            used_until = last
    found.sort(key=lambda item: item[1])
    return found


_SPLITS = ((2, 2, 4), (1, 2, 4), (2, 1, 4), (1, 1, 4), (2, 2, 2), (1, 2, 2), (2, 1, 2), (1, 1, 2))


def date_from_digits(run: NumberRun) -> DateValue | None:
    """Read a bare digit run as month-day-year ("oh three oh three eighty two",
    "twelve fifteen nineteen eighty", "03031982"), preferring cuts at the speaker's pauses."""
    digits = run.digits
    year_last = len(run.groups) >= 3 and len(run.groups[-1]) == 4
    if (run.quantity and not year_last) or not 3 <= len(digits) <= 8:
        return None
    bounds: set[int] = set()
    pos = 0
    for group in run.groups:
        pos += len(group)
        bounds.add(pos)
    best: tuple[int, DateValue] | None = None
    for lm, ld, ly in _SPLITS:
        if lm + ld + ly != len(digits):
            continue
        mo = int(digits[:lm])
        d = int(digits[lm : lm + ld])
        year = full_year(digits[lm + ld :])
        if not (1 <= mo <= 12 and 1 <= d <= 31) or year is None:
            continue
        score = (lm in bounds) + (lm + ld in bounds)
        if best is None or score > best[0]:
            best = (score, DateValue(year, mo, d, explicit=False))
    return best[1] if best else None


def parse_date(text: str) -> list[tuple[DateValue, int, int]]:
    """Dates in a caller's answer: explicit forms ("March 3rd, 1982", "the 3rd of march",
    "3/3/82", "march third eighty two") and, where no explicit date covers them, digit runs
    read as month-day-year ("oh three oh three eighty two", "twelve fifteen nineteen eighty",
    marked ``explicit=False``)."""
    toks = tokenize(text)
    found = dates_in_tokens(toks, text)
    for run in number_runs(toks, text):
        if any(s < run.end and run.start < e for _, s, e in found):
            continue
        value = date_from_digits(run)
        if value is not None:
            found.append((value, run.start, run.end))
    found.sort(key=lambda item: item[1])
    return found


def spoken_year(run: NumberRun) -> int | None:
    """A run that is a year said alone ("nineteen eighty two", "two thousand four", "2019")."""
    if len(run.digits) == 4:
        return full_year(run.digits)
    return None
