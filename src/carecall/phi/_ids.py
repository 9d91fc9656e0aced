"""Identifiers made of letters and digits: "MR8071563", "1HGCM82633A004352", "x j h four five
six", "seven a b c one two three", and spelled words ("k o w a l s k i").

The label comes from the nearest cue said before the value in the same sentence ("plate",
"serial number", "member id"), else from the agent's question; shape alone only says that it
is some identifier (OTHER_ID), or, for spelled letters, a name.
"""

from __future__ import annotations

import re

from carecall.phi import cues
from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import ACRONYMS, FUNCTION, words
from carecall.phi.model import Label
from carecall.phi.spoken import FILLERS, TEENS, TENS, UNITS, letter_at, read_element

_SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_MASKED_SSN_RE = re.compile(r"(?<![\w*#])[*xX#]{3}-[*xX#]{2}-(\d{4})\b")
"""A social masked on a screen ("***-**-2208", "XXX-XX-4471"): the last four still show."""
_UDI_RE = re.compile(r"\(01\)\s?\d{14}(?:\s?\(\d{2,4}\)\s?[A-Za-z0-9./-]{1,20}(?![A-Za-z0-9]))*")
"""A GS1 unique device identifier: "(01)" and the 14-digit device identifier, then the
production identifiers (expiry "(17)", lot "(10)", serial "(21)"), on a device's label."""
_MAC_RE = re.compile(r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"
                     r"(?![0-9A-Fa-f:-])")
"""A hardware (MAC or Bluetooth) address: six hex pairs, identifying one device."""
_ALNUM_RE = re.compile(
    r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,}\b"
)
_NOT_AN_ID_RE = re.compile(
    r"covid-?19|sars-cov-?2|h\d+n\d+|(?:hb)?a1c|b\d{1,2}|d[23]|co2|spo2|kn?95|g6pd|il-?\d+"
    r"|mp3|mp4|4k|1080p|24/7|w-?[249]|i-?9|1099|401k|403b|x86|utf-?8|http\d?|ipv[46]"
    r"|\d+d|\d{4}-\d{2}-\d{2}t\d{2}"
    r"|sha-?\d+|md5|crc32|base64|p\d{2,3}|q\d{1,2}h|[a-z]{3,}-\d{1,2}|\d{2,3}-years?-old"
    r"|(?:\d+(?:h|hr|m|min|s|sec|ms)){2,}", re.IGNORECASE)
"""Medical and everyday terms shaped like identifiers ("COVID-19", "HbA1c", "W-2", "N95")."""
_UNIT_SUFFIX_RE = re.compile(
    r"^\d+(?:st|nd|rd|th|mg|mcg|ml|g|kg|lb|lbs|am|pm|x|s|k|mm|cm|in|ft|hr|hrs|min|mins|%"
    r"|ms|us|ns|sec|secs|kb|kib|mb|mib|gb|gib|tb|hz|khz|mhz|ghz|bpm|mmhg|kcal|ohms?)$"
    r"|^\d{1,3}[hmd]$", re.I
)
"""A number and its unit ("340ms", "2.1G"); "5m", "12h" only short, since a serial can end
in a check letter ("7731904M")."""
_VERSION_BEFORE_RE = re.compile(r"\d\.$")
"""A part of a dotted version or decimal ("1.22.3-rc1", "4.21s"), not an identifier."""
_MEASURE_RE = re.compile(r"\d*\.?\d+[a-z%]+", re.IGNORECASE)


def _measure(word: str) -> bool:
    """A measurement or a technical term written as one word ("340ms", "2.1G", "4m12s",
    "sha256", "q6h"): not an identifier, nor a part of one."""
    word = word.strip(",;:()[]")
    if _MEASURE_RE.fullmatch(word) is not None and _UNIT_SUFFIX_RE.match(
            word.rpartition(".")[2]):
        return True  # "2.1G" is read as "1G", "4.21s" as "21s"
    return _NOT_AN_ID_RE.fullmatch(word) is not None


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
    for m in _UDI_RE.finditer(text):
        scan.found.append(Found(m.start(), m.end(), Label.DEVICE_ID, 9))
    for m in _MASKED_SSN_RE.finditer(text):
        scan.found.append(Found(m.start(1), m.end(1), Label.SSN, 9))  # its last four
    for m in _MAC_RE.finditer(text):
        scan.found.append(Found(m.start(), m.end(), Label.DEVICE_ID, 9))
    for m in _ALNUM_RE.finditer(text):
        word = m.group()
        if _UNIT_SUFFIX_RE.match(word) or word.lower() in ACRONYMS or _NOT_AN_ID_RE.fullmatch(
                word):
            continue
        if sum(c.isdigit() for c in word) < 2 and len(word) < 6:
            continue
        if _VERSION_BEFORE_RE.search(text, max(0, m.start() - 2), m.start()):
            continue
        if scan.model_number(_token_at(scan, m.start())):
            continue
        cue = scan.cue_before_offset(m.start()) or scan.cue_after_offset(m.end()) or (
            scan.asked_one())
        scan.found.append(Found(m.start(), m.end(), id_label(cue), 7))


def _token_at(scan: Scan, offset: int) -> int:
    """Index of the token that starts at ``offset`` (or the first after it)."""
    return next((k for k, tok in enumerate(scan.toks) if tok.start >= offset), scan.count)


def _elements(scan: Scan, i: int) -> tuple[list[tuple[str, int, int]], int]:
    """Letters and digit groups from ``i`` on, skipping dashes and fillers between them:
    ([(kind "L" or "D", first token, last token)], index after the last token read)."""
    elements: list[tuple[str, int, int]] = []
    j = i
    if _letter_prefix(scan, i):
        elements.append(("L", i, i))  # "PX dash four four one two"
        j = i + 1
    while j < scan.count:
        n = scan.norms[j]
        if elements and (n in _ID_JOINERS or (n == "." and (
                scan.norm(j - 1) == "." or scan.norm(j + 1) == "."))):  # "four four... one"
            j += 1
            continue
        element = read_element(scan.toks, j)
        if element is not None:
            if element[2]:
                break  # a quantity ("two hundred") is not part of an identifier
            elements.append(("D", j, j + element[1] - 1))
            j += element[1]
            continue
        letter = letter_at(scan.toks, j) if len(n) == 1 or n in ("double", "triple") else None
        if letter is not None and elements and scan.norm(j + 1) == ":":
            break  # "... 0190   p: +1 505 ...": the letter names the next field
        if letter is not None and scan.toks[j].is_word:
            elements.append(("L", j, j + letter[1] - 1))  # "k", "m as in mary"
            j += letter[1]
            continue
        if n in NATO and (elements or _id_part(scan, j + 1)):
            elements.append(("L", j, j))  # "alpha bravo four four one"
            j += 1
            continue
        break
    return elements, j


NATO = words("""alpha alfa bravo charlie delta echo foxtrot golf hotel india juliet juliett
    kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray
    yankee zulu""")
"""The spelling alphabet call-centre staff and callers read letters with."""


def _id_part(scan: Scan, k: int) -> bool:
    """A letter, a digit group or a spelling-alphabet word at ``k``."""
    if k >= scan.count:
        return False
    n = scan.norms[k]
    return (len(n) == 1 and n.isalnum()) or n in NATO or read_element(scan.toks, k) is not None


_PREFIX_LETTERS = (2, 4)
_DASHES = frozenset({"-", "dash", "hyphen"})


def _letter_prefix(scan: Scan, i: int) -> bool:
    """A short letter code joined by a dash to the digits that follow ("PX dash 4 4 1 2",
    "mr dash zero zero seven")."""
    if scan.norm(i + 1) not in _DASHES:
        return False
    tok = scan.toks[i]
    n = tok.norm
    if not (_PREFIX_LETTERS[0] <= len(n) <= _PREFIX_LETTERS[1] and n.isalpha() and n.isascii()):
        return False
    if n in FUNCTION or n in _NUMBERISH:
        return False
    digits = 0
    k = i + 2
    while k < scan.count and digits < _PREFIX_DIGITS:
        element = read_element(scan.toks, k)
        if element is None or element[2]:
            break
        digits += len(element[0])
        k += element[1]
    return digits >= _PREFIX_DIGITS


_PREFIX_DIGITS = 4


def _keeps_leading_article(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    """"account a two oh eight", "is i n v eight three": a leading "a" or "i" right after a
    cue, or followed by more letters, is part of the identifier."""
    first = elements[0][1]
    if len(elements) > 1 and elements[1][0] == "L":
        return scan.norms[first] == "i" or scan.cue_before(first, 3) is not None
    prev = scan.norm(first - 1)
    return prev not in ("", "is", "was", "have", "has", "need", "got", "for", "and") and (
        scan.cue_before(first, 2) is not None)


def _spelled_cue(scan: Scan, elements: list[tuple[str, int, int]]) -> int:
    """How many leading letters spell a cue ("s n four four one...", "m r n six six..."):
    the cue, said letter by letter, is not part of the identifier."""
    letters = 0
    while letters < len(elements) and elements[letters][0] == "L" and (
            elements[letters][1] == elements[letters][2]) and len(
            scan.norms[elements[letters][1]]) == 1:
        letters += 1
    for size in range(min(letters, _SPELLED_CUE_MAX), 1, -1):
        word = "".join(scan.norms[elements[x][1]] for x in range(size))
        if size < len(elements) and elements[size][0] == "D" and cues.is_cue(word):
            # "the group is g r p dash seven...": after its own cue, the letters are a prefix
            return 0 if scan.cue_before(elements[0][1], 4) is not None else size
    return 0


_SPELLED_CUE_MAX = 4


def _trim(scan: Scan, elements: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop an article said before or after the identifier ("a", "i")."""
    if elements and elements[0][0] == "L" and scan.norms[elements[0][1]] in _ARTICLES and (
            elements[0][1] == elements[0][2]) and not _keeps_leading_article(scan, elements):
        elements = elements[1:]
    while elements and elements[-1][0] == "L" and scan.norms[elements[-1][1]] in _ARTICLES:
        elements = elements[:-1]
    return elements


def _is_identifier(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    """At least one letter and one digit, four characters in all (a written group counts for
    each of its digits: "L as in larry 4471" has five)."""
    if len(elements) < 2:
        return False
    letters = digits = size = 0
    for kind, first, _ in elements:
        n = scan.norms[first]
        if kind == "L":
            size += 1
            letters += n not in ("a", "i", "o")
        else:
            size += len(n) if scan.toks[first].is_digits else 1
            digits += n not in ("o", "oh")
    return size >= _ELEMENTS_MIN and letters >= 1 and digits >= 1


def _phone_extension(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    """"216-555-0133 x 204": a phone and its extension, the only letter the "x" between them,
    which the number rules read."""
    kinds = [kind for kind, _, _ in elements]
    if kinds.count("L") != 1:
        return False
    at = kinds.index("L")
    if scan.norms[elements[at][1]] != "x" or at in (0, len(elements) - 1):
        return False
    digits = sum(len(scan.norms[f]) if scan.toks[f].is_digits else 1
                 for kind, f, _ in elements[:at] if kind == "D")
    return digits >= _PHONE_DIGITS_MIN


def _lettered_phone(scan: Scan, elements: list[tuple[str, int, int]]) -> bool:
    """"T 614-555-0142", "F: 614-555-0143": one capital of a contact card (telephone, fax,
    cell...) before a phone, which the number rules read."""
    if _phone_extension(scan, elements):
        return True
    # "T 617-555-0138  F 617-555-0137": each card letter starts a phone of its own
    segments: list[int] = []
    for at, (kind, f, _) in enumerate(elements):
        if kind == "L":
            if scan.toks[f].text.upper() not in _CARD_LETTERS or (
                    not scan.toks[f].text.isupper() and scan.norm(f + 1) != ":"):
                return False
            segments.append(0)
        elif at == 0:
            segments.append(len(scan.norms[f]))
        else:
            segments[-1] += len(scan.norms[f]) if scan.toks[f].is_digits else 1
    return bool(segments) and all(d >= _PHONE_DIGITS_MIN for d in segments)


_CARD_LETTERS = frozenset("TFPCMHWO")
_PHONE_DIGITS_MIN = 7


def spoken(scan: Scan) -> None:
    """Identifiers said as letters and digits mixed ("x j h four five six", "two v h two dash
    l d five", "seven a b c one two three")."""
    i = 0
    norms = scan.norms
    last_index = scan.count - 1
    while i < scan.count:
        n = norms[i]
        if len(n) > 1 and n not in _NUMBERISH and not "0" <= n[0] <= "9" and not (
                i < last_index and ((norms[i + 1] in _DASHES and _letter_prefix(scan, i)) or (
                    n in NATO and _id_part(scan, i + 1)))):
            i += 1
            continue
        if i > 0 and scan.toks[i].start == scan.toks[i - 1].end and norms[i - 1][-1:].isalnum(
                ) and n[:1].isalnum():
            i += 1  # an identifier does not start inside a word ("4.21s", "4m12s")
            continue
        elements, j = _elements(scan, i)
        cut = _spelled_cue(scan, elements)
        if cut:
            i = elements[cut][1]  # "s n four four one...": the digits, after their cue
            continue
        elements = _trim(scan, elements)
        if elements and _lettered_phone(scan, elements):
            i = max(i + 1, elements[-1][2] + 1)  # the number rules read the phones
            continue
        if _is_identifier(scan, elements) and not (
                scan.model_number(elements[0][1])) and not _NOT_AN_ID_RE.fullmatch(
                scan.text[scan.toks[elements[0][1]].start : scan.toks[elements[-1][2]].end]
                ) and not any(_measure(w) for w in scan.text[scan.toks[elements[0][1]].start : (
                    scan.toks[elements[-1][2]].end)].split()):
            first, last = elements[0][1], elements[-1][2]
            cue = scan.cue_before(first, 12) or scan.cue_after(last) or scan.asked_one()
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
        if len(word) < 3 or len(plain) < 2 or word in ACRONYMS or word in ("abc", "xyz") or (
                cues.is_cue(word)):
            continue  # "the d e a number": a cue spelled out is not a name
        cue = scan.cue_before(run.first)
        if cue is None and Label.NAME not in scan.asked and len(scan.asked) == 1:
            cue = next(iter(scan.asked))
        label = Label.NAME if cue is None or cue in _SPELLING_LABELS else cue
        scan.found.append(Found(run.start, run.end, label, 6))
