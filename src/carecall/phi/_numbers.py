"""Digit runs ("five five five oh one...", "555-010-1234", "12345678"): phones, SSNs, ZIPs
and numeric identifiers, told apart from doses, money, times and counts.

The cue before a run names it ("my member number is ..."); without one, the agent's question
does ("What's your member ID?"); without either, only the shape is left (ten digits is a
phone, three-two-four a social, six or more some identifier).
"""

from __future__ import annotations

import re

from carecall.phi import _ages, cues
from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import BEFORE_NOT_ID, UNITS_AFTER
from carecall.phi.model import Label
from carecall.phi.spoken import NumberRun

_MONEY_AFTER = frozenset({"dollars", "dollar", "bucks", "cents", "point"})
_MONEY_BEFORE = frozenset({"total", "balance", "amount", "cost", "costs", "charge", "charged",
                           "owe", "owed", "price", "fee", "paid", "pay", "copay", "due"})
_LINKING = frozenset({"is", "was", "of", "about", "around", "the", "be", "only", "just", "it's"})
_ALWAYS_AMOUNT_AFTER = frozenset({"mg", "milligrams", "dollars"})
_EXTENSION = frozenset({"extension", "ext", "x"})
_PHONE_GAP = frozenset({"and", "then", "the", "number", "is", ",", "-", "uh", "um", "its",
                        "it's", "rest", "of", "it"})
_ID_LENGTH_MIN = 3
_SHORT_QUANTITY = 6
_ASK_REACH = 8
_NEAR = 6
_FAR = 12
"""A bare answer to the agent's question starts within this many tokens of the line."""


def _is_amount(scan: Scan, run: NumberRun, cue: Label | None) -> bool:
    """Money, doses, durations and times ("$45", "ten milligrams", "twenty minutes")."""
    before = scan.norm(run.first - 1)
    after = scan.norm(run.last + 1)
    if before == "$" or after in _MONEY_AFTER:
        return True
    k = run.first - 1
    while k > 0 and scan.norms[k] in _LINKING:
        k -= 1
    if scan.norm(k) in _MONEY_BEFORE:
        return True  # "the invoice total is two forty nine fifty", not "pay invoice 44812"
    if "." in scan.text[run.start : run.end] and len(run.groups) == 2 and len(run.groups[-1]) == 2:
        return True
    if after in UNITS_AFTER or after in ("%", ":"):
        return cue is None or len(run.digits) < 4 or after in _ALWAYS_AMOUNT_AFTER
    return False


def _by_cue(run: NumberRun, cue: Label) -> Label | None:
    """The cue's label when the digits fit it; None when they cannot be that identifier."""
    n = len(run.digits)
    if cue is Label.ADDRESS:
        return Label.ADDRESS if n in (5, 9) else None
    if cue is Label.SSN:
        return Label.SSN if n in (4, 9) else None
    if cue in (Label.PHONE, Label.FAX):
        return cue if n >= 7 else None
    if cue in (Label.EMAIL, Label.URL, Label.IP_ADDRESS):
        return None
    if run.quantity and n < _SHORT_QUANTITY:
        return None
    return cue if n >= _ID_LENGTH_MIN else None


def _by_shape(run: NumberRun, before: str) -> Label | None:
    """Ten digits is a phone, 3-2-4 a social, seven written digits a local phone."""
    digits = run.digits
    n = len(digits)
    if run.quantity or (before in BEFORE_NOT_ID and n < 10):
        return None
    if n >= 10 and (n <= 11 or digits.startswith("1")):
        return Label.PHONE
    if n == 9 and len(run.groups) >= 3 and len(run.groups[0]) == 3:
        return Label.SSN
    if n == 7 and (not run.spoken or len(run.groups) >= 5):
        return Label.PHONE
    if n >= _SHORT_QUANTITY and not (n == 8 and len(run.groups) <= 2):
        return Label.OTHER_ID
    return None


def _cue(scan: Scan, run: NumberRun) -> tuple[Label | None, bool]:
    """The cue for ``run`` and whether to trust it over the run's shape: a cue said close by,
    a phone or fax cue, or the agent's question are trusted; an identifier cue said further
    back ("about my claim, so call me on ...") is not."""
    cue = scan.cue_before(run.first, _NEAR)
    if cue is not None:
        return cue, True
    cue = scan.cue_before(run.first, _FAR)
    if cue is not None:
        return cue, cue in (Label.PHONE, Label.FAX)
    asked_ids = scan.asked - {Label.NAME}
    if run.first <= _ASK_REACH and len(asked_ids) == 1:
        return next(iter(asked_ids)), True
    return None, False


def _widen(scan: Scan, run: NumberRun, start: int, end: int) -> tuple[int, int]:
    """Take in the "(" of "(614) 555-0142", the "+" of "+1 555...", and an extension."""
    text = scan.text
    if start > 0 and text[start - 1] in "(+":
        start -= 1
    k = run.last + 1
    if scan.norm(k) in _EXTENSION or (scan.norm(k) == "." and scan.norm(k - 1) == "ext"):
        k += 1
        if scan.norm(k) == ".":
            k += 1
        ext = next((r for r in scan.runs if r.first == k and len(r.digits) <= 6), None)
        if ext is not None:
            end = ext.end
    return start, end


def _letters_around(scan: Scan, run: NumberRun, cue: Label | None) -> tuple[int, int]:
    """Letters said right next to the digits belong to the identifier ("a b c 1 2 3"), and so
    does one letter said between the cue and the digits ("account a two oh eight ...")."""
    start, end = run.start, run.end
    for letters in scan.letters:
        if letters.last == run.first - 1:
            start = letters.start
        if letters.first == run.last + 1:
            end = letters.end
    before = run.first - 1
    tok = scan.toks[before] if before >= 0 else None
    if tok is not None and cue is not None and tok.text.isupper() and tok.is_word and 2 <= len(
            tok.text) <= 3 and tok.norm not in ("oh", "o") and cues.closest_cue(tok.norm) is None:
        start = tok.start  # "my plate is ABC 1234"
    if start == run.start and cue is not None and len(scan.norm(before)) == 1 and (
            scan.toks[before].is_word and scan.cue_before(before, 3) is not None):
        start = scan.toks[before].start
    return start, end


def _split_phone(scan: Scan, runs: list[NumberRun], index: int) -> NumberRun | None:
    """"area code six one four, and then five five five oh one four two": the next run, when
    the two together make a ten-digit phone."""
    run = runs[index]
    if len(run.digits) != 3 or index + 1 >= len(runs):
        return None
    nxt = runs[index + 1]
    gap = range(run.last + 1, nxt.first)
    if len(gap) > 4 or len(nxt.digits) != 7 or any(scan.norms[k] not in _PHONE_GAP for k in gap):
        return None
    return nxt


def _known_phone(scan: Scan, run: NumberRun) -> bool:
    if len(run.digits) < 10:
        return False
    known = {re.sub(r"\D", "", p)[-10:] for p in scan.known.phones}
    return run.digits[-10:] in known


def numbers(scan: Scan) -> None:
    runs = scan.runs
    skip_until = -1
    for index, run in enumerate(runs):
        if run.first <= skip_until or _ages.age(scan, run):
            continue
        cue, near = _cue(scan, run)
        if _known_phone(scan, run):
            start, end = _widen(scan, run, run.start, run.end)
            scan.found.append(Found(start, end, Label.PHONE, 8))
            continue
        if _is_amount(scan, run, cue):
            continue
        if cue in (Label.PHONE, Label.FAX) or scan.norm(run.first - 1) == "code":
            rest = _split_phone(scan, runs, index)
            if rest is not None:
                start, end = _widen(scan, rest, run.start, rest.end)
                scan.found.append(Found(start, end, cue or Label.PHONE, 7))
                skip_until = rest.last
                continue
        if cue is Label.DATE:
            continue  # read as a date by the date rules or not at all
        shape = _by_shape(run, scan.norm(run.first - 1))
        label = _by_cue(run, cue) if cue is not None else None
        if label is None or (not near and shape in (Label.PHONE, Label.SSN)):
            label = shape  # "... my claim, so call five five five ...": the shape is nearer
        if label is None:
            continue
        start, end = _letters_around(scan, run, cue)
        if label in (Label.PHONE, Label.FAX):
            start, end = _widen(scan, run, start, end)
        scan.found.append(Found(start, end, label, 7 if cue else 5))
