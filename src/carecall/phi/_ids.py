"""Identifiers made of letters and digits: "MR8071563", "1HGCM82633A004352", "x j h four five
six", "seven a b c one two three", and spelled words ("k o w a l s k i").

The label comes from the nearest cue said before the value in the same sentence ("plate",
"serial number", "member id"), else from the agent's question; shape alone only says that it
is some identifier (OTHER_ID), or, for spelled letters, a name.
"""

from __future__ import annotations

import re

from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import ACRONYMS
from carecall.phi.model import Label
from carecall.phi.spoken import FILLERS, TEENS, TENS, UNITS, read_element

_SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_ALNUM_RE = re.compile(
    r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,}\b"
)
_UNIT_SUFFIX_RE = re.compile(
    r"^\d+(?:st|nd|rd|th|mg|mcg|ml|g|kg|lb|lbs|am|pm|x|s|k|mm|cm|in|ft|hr|hrs|min|mins|%)$", re.I
)
_NOT_AN_ID_LABEL = frozenset({Label.DATE, Label.PHONE, Label.ADDRESS, Label.EMAIL, Label.URL,
                              Label.FAX, Label.NAME})
"""Cues whose values are never letters mixed with digits; such a value is some other id."""
_ID_JOINERS = frozenset({"-", ",", "dash", "hyphen"}) | FILLERS
_ARTICLES = frozenset({"a", "i"})
_ELEMENTS_MIN = 4
_NUMBERISH = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | {"double", "triple"}


def id_label(cue: Label | None) -> Label:
    """The label for a mixed identifier given the cue before it."""
    return cue if cue is not None and cue not in _NOT_AN_ID_LABEL else Label.OTHER_ID


def formatted(scan: Scan) -> None:
    text = scan.text
    for m in _SSN_RE.finditer(text):
        scan.found.append(Found(m.start(), m.end(), Label.SSN, 9))
    for m in _ALNUM_RE.finditer(text):
        word = m.group()
        if _UNIT_SUFFIX_RE.match(word) or word.lower() in ACRONYMS:
            continue
        if sum(c.isdigit() for c in word) < 2 and len(word) < 6:
            continue
        cue = scan.cue_before_offset(m.start()) or scan.asked_one()
        scan.found.append(Found(m.start(), m.end(), id_label(cue), 7))


def _elements(scan: Scan, i: int) -> tuple[list[tuple[str, int, int]], int]:
    """Letters and digit groups from ``i`` on, skipping dashes and fillers between them:
    ([(kind "L" or "D", first token, last token)], index after the last token read)."""
    elements: list[tuple[str, int, int]] = []
    j = i
    while j < scan.count:
        n = scan.norms[j]
        if elements and n in _ID_JOINERS:
            j += 1
            continue
        element = read_element(scan.toks, j)
        if element is not None:
            if element[2]:
                break  # a quantity ("two hundred") is not part of an identifier
            elements.append(("D", j, j + element[1] - 1))
            j += element[1]
            continue
        if len(n) == 1 and scan.toks[j].is_word:
            elements.append(("L", j, j))
            j += 1
            continue
        break
    return elements, j


def _keeps_leading_article(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    """"account a two oh eight", "is i n v eight three": a leading "a" or "i" right after a
    cue, or followed by more letters, is part of the identifier."""
    first = elements[0][1]
    if len(elements) > 1 and elements[1][0] == "L":
        return scan.norms[first] == "i" or scan.cue_before(first, 3) is not None
    prev = scan.norm(first - 1)
    return prev not in ("", "is", "was", "have", "has", "need", "got", "for", "and") and (
        scan.cue_before(first, 2) is not None)


def _trim(scan: Scan, elements: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop an article said before or after the identifier ("a", "i")."""
    if elements and elements[0][0] == "L" and scan.norms[elements[0][1]] in _ARTICLES and (
            not _keeps_leading_article(scan, elements)):
        elements = elements[1:]
    while elements and elements[-1][0] == "L" and scan.norms[elements[-1][1]] in _ARTICLES:
        elements = elements[:-1]
    return elements


def _is_identifier(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    letters = sum(1 for k, f, _ in elements if k == "L" and scan.norms[f] not in "aio")
    digits = sum(1 for k, f, _ in elements if k == "D" and scan.norms[f] not in ("o", "oh"))
    return len(elements) >= _ELEMENTS_MIN and letters >= 1 and digits >= 1


def spoken(scan: Scan) -> None:
    """Identifiers said as letters and digits mixed ("x j h four five six", "two v h two dash
    l d five", "seven a b c one two three")."""
    i = 0
    while i < scan.count:
        n = scan.norms[i]
        if len(n) > 1 and n not in _NUMBERISH and not scan.toks[i].is_digits:
            i += 1
            continue
        elements, j = _elements(scan, i)
        elements = _trim(scan, elements)
        if _is_identifier(scan, elements):
            first, last = elements[0][1], elements[-1][2]
            cue = scan.cue_before(first, 12) or scan.asked_one()
            scan.add(first, last, id_label(cue), 7)
            i = last + 1
        else:
            i = max(i + 1, j if j > i and not elements else i + 1)


_SPELLING_LABELS = frozenset({Label.DATE, Label.PHONE, Label.ADDRESS, Label.FAX})


def spelled(scan: Scan) -> None:
    """Words spelled letter by letter: a name unless a cue says which identifier it is."""
    for run in scan.letters:
        word = run.letters
        plain = word.replace("a", "").replace("i", "")
        if len(word) < 3 or len(plain) < 2 or word in ACRONYMS or word in ("abc", "xyz"):
            continue
        cue = scan.cue_before(run.first)
        if cue is None and Label.NAME not in scan.asked and len(scan.asked) == 1:
            cue = next(iter(scan.asked))
        label = Label.NAME if cue is None or cue in _SPELLING_LABELS else cue
        scan.found.append(Found(run.start, run.end, label, 6))
