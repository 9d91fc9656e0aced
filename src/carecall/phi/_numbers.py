"""Digit runs ("five five five oh one...", "555-010-1234", "12345678"): phones, SSNs, ZIPs
and numeric identifiers, told apart from doses, money, times and counts.

The cue before a run names it ("my member number is ..."); without one, the agent's question
does ("What's your member ID?"); without either, only the shape is left (ten digits is a
phone, three-two-four a social, six or more some identifier).
"""

from __future__ import annotations

import itertools
import re

from carecall.phi import _addresses, _ages, cues
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
_PAUSES = frozenset({".", ",", "-", "uh", "um", "..."})
_PREFIX_LETTERS_MAX = 4
_CARD_DIGITS = (13, 19)
_ZIP_LENGTHS = (5, 9)
_DIGIT_BY_DIGIT = 5
_LOCAL_PHONE = 7
_SENTENCE_WORDS_AFTER = frozenset({"and", "on", "for", "is", "was", "in", "from", "if",
                                   "that", "which", "but", "so", "please", "thanks"})
_CARD_LETTERS = frozenset("TFPCMHWO")
"""Contact-card letters: telephone, fax, phone, cell, mobile, home, work, office."""
_SHORT_CUED = 5
_YEAR_DIGITS = 4
_BEFORE_YEAR = frozenset({"in", "since", "from", "of", "year", "circa", "until", "till"})
_DATE_DIGITS_MAX = 8
_ID_LENGTH_MIN = 3
_SHORT_QUANTITY = 6
_ASK_REACH = 8
_NEAR = 6
_FAR = 12
_VERSION_RE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{1,3}")
_SENTENCE_REACH = 30
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
    if after == "over" and (run.last + 2) in scan.run_from and len(run.digits) <= 3:
        return True  # "120 over 80": a blood pressure
    if after in UNITS_AFTER or after in ("%", ":"):
        return cue is None or len(run.digits) < 4 or after in _ALWAYS_AMOUNT_AFTER
    return False


_FIXED_LENGTHS: dict[Label, tuple[int, ...]] = {
    Label.ADDRESS: (5, 9), Label.SSN: (4, 9), Label.EMAIL: (), Label.URL: (),
    Label.IP_ADDRESS: (),
}
"""Cues whose values have set lengths (a ZIP, a social or its last four) or are never bare
digits (an e-mail address)."""


def _by_cue(run: NumberRun, cue: Label, before: str) -> Label | None:
    """The cue's label when the digits fit it; None when they cannot be that identifier."""
    n = len(run.digits)
    if cue in _FIXED_LENGTHS:
        return cue if n in _FIXED_LENGTHS[cue] else None
    if cue in (Label.PHONE, Label.FAX):
        return cue if n >= _LOCAL_PHONE else None
    short_amount = (run.quantity and n < _SHORT_QUANTITY) or (
        n < _SHORT_CUED and before in BEFORE_NOT_ID) or (  # "my heart monitor beeps above 120"
        n == _YEAR_DIGITS and before in _BEFORE_YEAR and run.digits[:2] in ("19", "20"))
        # "the pacemaker was put in 2019": a bare year is not PHI
    return cue if n >= _ID_LENGTH_MIN and not short_amount else None


def _luhn(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch)
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _by_shape(run: NumberRun, before: str) -> Label | None:
    """Ten digits is a phone, 3-2-4 a social, seven written digits a local phone."""
    digits = run.digits
    n = len(digits)
    digit_by_digit = run.spoken and len(run.groups) >= _DIGIT_BY_DIGIT
    if run.quantity or (before in BEFORE_NOT_ID and n < 10 and not (
            before == "at" and n == _LOCAL_PHONE and digit_by_digit)):  # "at 5 5 5 0 1 4 4"
        return None
    if _CARD_DIGITS[0] <= n <= _CARD_DIGITS[1] and _luhn(digits):
        return Label.ACCOUNT_NUMBER  # a payment card number: the Luhn check digit holds
    shapes = (
        (n >= 10 and (n <= 11 or digits.startswith("1")), Label.PHONE),
        (n == 9 and len(run.groups) >= 3 and len(run.groups[0]) == 3, Label.SSN),
        (n == _LOCAL_PHONE and (not run.spoken or len(run.groups) >= _DIGIT_BY_DIGIT),
         Label.PHONE),
        (n >= _SHORT_QUANTITY and not (n == 8 and len(run.groups) <= 2), Label.OTHER_ID),
    )
    return next((label for fits, label in shapes if fits), None)


def _cue(scan: Scan, run: NumberRun) -> tuple[Label | None, bool]:
    """The cue for ``run`` and whether to trust it over the run's shape: a cue said close by,
    a phone or fax cue, or the agent's question are trusted; an identifier cue said further
    back ("about my claim, so call me on ...") is not."""
    cue = scan.cue_before(run.first, _NEAR)
    if cue is not None:
        return cue, True
    cue = scan.cue_before(run.first, _FAR)
    if cue is not None:
        return cue, cue in (Label.PHONE, Label.FAX) or (
            cue is Label.DEVICE_ID and _plain_gap(scan, run.first))
    cue = scan.cue_after(run.last)
    if cue is not None:
        return cue, True
    k = run.first - 1 if scan.norm(run.first - 1) != ":" else run.first - 2
    if scan.norm(run.first - 1) == "+":
        k = run.first - 2 if scan.norm(run.first - 2) != ":" else run.first - 3
    colon = scan.norm(k + 1) == ":"
    if k >= 0 and len(run.digits) >= _LOCAL_PHONE and (scan.toks[k].text in _CARD_LETTERS or (
            colon and scan.toks[k].text.upper() in _CARD_LETTERS)):
        # "F 614...", "f: +1 505 ...": a contact card's letter
        return (Label.FAX if scan.toks[k].norm == "f" else Label.PHONE), True
    asked_ids = scan.asked - {Label.NAME}
    if run.first <= _ASK_REACH and len(asked_ids) == 1:
        return next(iter(asked_ids)), True
    return None, False


_CLAUSE_BREAKS = frozenset({",", "so", "and", "but", "or", "then", "because", "cause", "if",
                            "when", "call", "reach", "text", "dial"})


def _plain_gap(scan: Scan, first: int) -> bool:
    """No clause break in the words before ``first`` (as far as a far cue reaches): "the
    serial number on the back of the pump is ...", not "about my pump, so call me on ..."."""
    for k in range(first - 1, max(-1, first - 1 - _FAR), -1):
        n = scan.norms[k]
        if n in _CLAUSE_BREAKS:
            return False
        if n in (".", "?", "!", ";") and scan.ends_sentence(k):
            break
    return True


def _widen(scan: Scan, run: NumberRun, start: int, end: int) -> tuple[int, int]:
    """Take in the "(" of "(614) 555-0142", the "+" of "+1 555...", and an extension."""
    text = scan.text
    if start > 0 and text[start - 1] in "(+":
        start -= 1
    k = run.last + 1
    if scan.norm(k) == "," and scan.norm(k + 1) in _EXTENSION:
        k += 1  # "(503) 555-0139, ext. 204"
    if scan.norm(k) in _EXTENSION:
        k += 1
        if scan.norm(k) in (".", ":", "#"):
            k += 1
        ext = scan.run_from.get(k)
        if ext is not None and len(ext.digits) <= 6:
            end = ext.end
    elif k < scan.count and scan.toks[k].start == run.end and re.fullmatch(
            r"x\d{1,6}", scan.toks[k].norm + scan.norm(k + 1)):
        end = scan.toks[k + 1].end  # "207.555.0174 x31"
    return start, end


def _letters_around(scan: Scan, run: NumberRun, cue: Label | None) -> tuple[int, int]:
    """Letters said right next to the digits belong to the identifier ("a b c 1 2 3"), and so
    does one letter said between the cue and the digits ("account a two oh eight ...")."""
    start, end = run.start, run.end
    for letters in scan.letters:
        if letters.last == run.first - 1 and not cues.is_cue(letters.letters):
            start = letters.start  # but not "s n" (a cue spelled) in "s n four four one..."
        if letters.first == run.last + 1:
            end = letters.end
    after = run.last + 1
    if end == run.end and cue is not None and after < scan.count and len(
            scan.toks[after].text) == 1 and scan.toks[after].text.isupper() and scan.toks[
            after].text not in ("I", "A") and (after + 1) not in scan.run_from and (
            after + 1 == scan.count or not scan.toks[after + 1].is_word
            or scan.norms[after + 1] in _SENTENCE_WORDS_AFTER):
        end = scan.toks[after].end  # "LNQ 449017 S": a check letter after the digits
    before = run.first - 1
    if before >= 1 and scan.norms[before] == "." and scan.toks[before].end == run.start and (
            scan.toks[before - 1].end == scan.toks[before].start):
        before -= 1  # "RPH.020417", "MD.44817": a prefix joined by a full stop
    tok = scan.toks[before] if before >= 0 else None
    if tok is not None and cue is not None and tok.text.isupper() and tok.is_word and 2 <= len(
            tok.text) <= _PREFIX_LETTERS_MAX and tok.norm not in ("oh", "o") and (
            _prefix_not_cue(scan, before, cue)):
        start = tok.start  # "my plate is ABC 1234", "the invoice is INV 88-01742"
    if start == run.start and cue is not None and len(scan.norm(before)) == 1 and (
            scan.toks[before].is_word and scan.cue_before(before, 3) is not None):
        start = scan.toks[before].start
    return start, end


def _prefix_not_cue(scan: Scan, k: int, cue: Label) -> bool:
    """Capitals before the digits are part of the identifier unless they are the cue itself
    ("MRN 28009062"); a cue word said again after the cue ("the invoice is INV 88-01742") is
    the identifier's prefix."""
    own = cues.closest_cue(scan.norms[k])
    return own is None or (own[0] is cue and scan.cue_before(k) is cue)


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


def _paused_phone(scan: Scan, runs: list[NumberRun], index: int) -> NumberRun | None:
    """"six one four. five five five. oh one four two": three runs of 3, 3 and 4 digits cut
    apart by full stops or commas the speech-to-text put at the speaker's pauses; the last
    run, when they make a phone."""
    if index + 2 >= len(runs) or len(runs[index].digits) != 3:
        return None
    parts = runs[index : index + 3]
    if [len(r.digits) for r in parts] != [3, 3, 4] or any(r.quantity for r in parts):
        return None
    for cur, nxt in itertools.pairwise(parts):
        gap = range(cur.last + 1, nxt.first)
        if not 1 <= len(gap) <= 3 or any(scan.norms[k] not in _PAUSES for k in gap):
            return None
    return parts[2]


def _joined_phone(scan: Scan, index: int, cue: Label | None) -> int | None:
    """A phone said in pieces ("area code six one four, then ...", "six one four. five five
    five. oh one four two") added as one span; the last token used, or None."""
    runs = scan.runs
    run = runs[index]
    label = cue or Label.PHONE
    if cue in (Label.PHONE, Label.FAX) or scan.norm(run.first - 1) == "code":
        rest = _split_phone(scan, runs, index)
        if rest is not None:
            start, end = _widen(scan, rest, run.start, rest.end)
            scan.found.append(Found(start, end, label, 7))
            return rest.last
    paused = _paused_phone(scan, runs, index)
    if paused is not None and cue in (None, Label.PHONE, Label.FAX):
        start, end = _widen(scan, paused, run.start, paused.end)
        scan.found.append(Found(start, end, label, 7 if cue else 5))
        return paused.last
    return None


def _phone_or_fax(scan: Scan, run: NumberRun, label: Label, cue: Label | None,
                  shape: Label | None) -> Label:
    """A phone said after a fax cue is a fax; a phone-shaped number after an identifier cue is
    a phone or fax when one of their cues was said too."""
    if label is Label.PHONE and cue is None and scan.cue_before(
            run.first, _SENTENCE_REACH) is Label.FAX:
        return Label.FAX  # "fax the discharge summary and the med list over to ..."
    if label is Label.DEVICE_ID and shape is Label.PHONE and _phone_groups(run) and (
            _SERIAL_RE.search(_clause(scan.words_before(run.first, _FAR))) is None):
        # "call the device company at 800-555-0199": a device named, but no serial asked for
        return Label.FAX if Label.FAX in scan.cues_before(run.first, _FAR) else Label.PHONE
    if label is Label.OTHER_ID and shape is Label.PHONE and _phone_groups(run):
        said = scan.cues_before(run.first, _FAR)
        if Label.FAX in said or Label.PHONE in said:
            # "they faxed the order from 402 555 0115": the order is what was faxed
            return Label.FAX if Label.FAX in said else Label.PHONE
    return label


_SERIAL_RE = re.compile(r"\b(?:serial|serials|s ?/ ?n|sn|s n|ser|imei|udi|lot|id|i d|"
                        r"identifier|code)\b")
"""Words that ask for a device's own number, not for the maker's phone."""


def _clause(window: str) -> str:
    """The last clause of ``window``: what follows a comma and a word that starts a new
    clause ("the serial is on the pump, call ..."); an aside ("serial, it's") does not."""
    _, comma, tail = window.rpartition(",")
    words = tail.split()
    return tail if comma and words and words[0] in _CLAUSE_BREAKS else window


def _phone_groups(run: NumberRun) -> bool:
    """Digits grouped as a phone is written or said: 3-3-4, 1-3-3-4, or 3-7."""
    sizes = [len(g) for g in run.groups]
    return sizes in ([3, 3, 4], [1, 3, 3, 4], [3, 7]) or (
        run.spoken and len(run.digits) == 10 and len(run.groups) >= _DIGIT_BY_DIGIT)


def _known_phone(scan: Scan, run: NumberRun) -> bool:
    if len(run.digits) < 10:
        return False
    known = {re.sub(r"\D", "", p)[-10:] for p in scan.known.phones}
    return run.digits[-10:] in known


def numbers(scan: Scan) -> None:
    runs = scan.runs
    skip_until = -1
    for index, run in enumerate(runs):
        if run.first <= skip_until or _ages.age(scan, run) or scan.model_number(run.first):
            continue
        if _VERSION_RE.fullmatch(scan.text, run.start, run.end):
            continue  # "fw=1.4.2": a software version
        cue, near = _cue(scan, run)
        if _known_phone(scan, run):
            start, end = _widen(scan, run, run.start, run.end)
            scan.found.append(Found(start, end, Label.PHONE, 8))
            continue
        if _is_amount(scan, run, cue):
            continue
        # a ZIP after a state, unless an identifier was cued ("medicaid ID MA 7720 4419 1")
        if len(run.digits) in _ZIP_LENGTHS and _addresses.after_state(scan, run.first) and not (
                near and cue not in (None, Label.ADDRESS, Label.OTHER_ID)):
            scan.found.append(Found(run.start, run.end, Label.ADDRESS, 6))  # "ID 83702"
            continue
        joined = _joined_phone(scan, index, cue)
        if joined is not None:
            skip_until = joined
            continue
        if cue is Label.DATE and len(run.digits) <= _DATE_DIGITS_MAX:
            continue  # read as a date by the date rules or not at all
        if cue is Label.DATE:
            cue = None  # "my birthday is june fifth and my number is <ten digits>"
        shape = _by_shape(run, scan.norm(run.first - 1))
        label = _by_cue(run, cue, scan.norm(run.first - 1)) if cue is not None else None
        if label is None or (not near and shape in (Label.PHONE, Label.SSN)):
            label = shape  # "... my claim, so call five five five ...": the shape is nearer
        if label is None:
            continue
        label = _phone_or_fax(scan, run, label, cue, shape)
        start, end = _letters_around(scan, run, cue)
        if label in (Label.PHONE, Label.FAX):
            start, end = _widen(scan, run, start, end)
        scan.found.append(Found(start, end, label, 7 if cue else 5))
