"""Employers, which Safe Harbor counts with names (45 CFR 164.514(b)(2)(i)(A) covers the
individual's employer): "I work for Hendricks Plumbing", "employed by northgate insurance",
"my job at Lakeside Bank", "from Acme Widgets Inc"."""

from __future__ import annotations

from carecall.phi._scan import Scan
from carecall.phi._vocab import FUNCTION, words
from carecall.phi.model import Label
from carecall.phi.spoken import MONTHS, TEENS, TENS, UNITS

_CUES: tuple[tuple[str, ...], ...] = tuple(
    tuple(c.split())
    for c in (
        "work at", "work for", "works at", "works for", "worked at", "worked for",
        "working at", "working for", "work over at", "employed by", "employed at",
        "employed with", "employer is", "job at", "company called",
    )
)
_CUES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _CUES:
    _CUES_BY_FIRST.setdefault(_cue[0], []).append(_cue)
_COMPANY_SUFFIXES = words("inc incorporated llc corp corporation ltd llp plc")
_PLACE_SUFFIXES = words("company hospital bank group industries associates partners")
"""Named only in mixed case or with a rare word before them ("Lakeside Hospital"); "the
insurance company" is not an employer's name."""
_GENERIC = words(
    """
    home night nights school work hospital clinic store office restaurant factory warehouse
    bank church daycare farm mall shop gym plant myself himself herself county city state
    government district company business firm agency place job moment while year years
    part full time least all same family dad mom husband wife another some most free less
    more much money pay cash hour hours living minimum wage it them home
    """
)
_ABBREVIATED = words("inc corp ltd co")
_WORK_WORDS = words("work works worked working job employed employer employs from retired")
_NOT_NAME = words("since until now anymore today yesterday weeks months years days hours "
                  "full part time nights")
_NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS)
_WORDS_MAX = 4


def _name_word(scan: Scan, k: int) -> bool:
    if not 0 <= k < scan.count or not scan.toks[k].is_word:
        return False
    n = scan.norms[k]
    return n not in FUNCTION and n not in _NUMBER_WORDS and n not in _NOT_NAME and (
        n not in MONTHS)


def _after_cue(scan: Scan, j: int) -> None:
    if scan.norm(j) == "the":
        j += 1
    end = j - 1
    while end + 1 - j < _WORDS_MAX and _name_word(scan, end + 1):
        end += 1
    if end >= j and scan.norms[j] not in _GENERIC and not scan.norms[j].endswith("ing"):
        scan.add(j, end, Label.NAME, 5)


def _before_suffix(scan: Scan, i: int) -> None:
    """"Acme Widgets Inc", "lakeside family bank": the words before a company suffix."""
    first = i
    is_place = scan.norms[i] in _PLACE_SUFFIXES
    while first - 1 >= 0 and i - first < _WORDS_MAX - 1 and _name_word(scan, first - 1):
        first -= 1
    if first == i:
        return
    named = [k for k in range(first, i) if scan.capitalised(k) or not scan.lex.is_word(
        scan.norms[k])]
    if is_place and not (named and _said_of_work(scan, named[0])):
        return
    if is_place:
        first = named[0]
    end = i + 1 if scan.norm(i + 1) == "." and scan.norms[i] in _ABBREVIATED else i
    scan.add(first, end, Label.NAME, 7)  # a company suffix outranks a place cue ("from")


def _said_of_work(scan: Scan, first: int) -> bool:
    """"works nights at Sorrento Bank", "a letter from Lakeside Hospital": a work word or
    "from" shortly before; "I was at Mercy Hospital" is a visit, not an employer."""
    return any(scan.norms[k] in _WORK_WORDS for k in range(max(0, first - 4), first))


def employers(scan: Scan) -> None:
    norms = scan.norms
    for i in range(scan.count):
        n = norms[i]
        if n in _COMPANY_SUFFIXES or n in _PLACE_SUFFIXES:
            _before_suffix(scan, i)
        for cue in _CUES_BY_FIRST.get(n, ()):
            if tuple(norms[i : i + len(cue)]) == cue:
                _after_cue(scan, i + len(cue))
