"""Employers, which Safe Harbor counts with names (45 CFR 164.514(b)(2)(i)(A) covers the
individual's employer): "I work for Hendricks Plumbing", "employed by northgate insurance",
"my job at Lakeside Bank", "from Acme Widgets Inc"."""

from __future__ import annotations

import re

from carecall.phi._scan import Scan
from carecall.phi._vocab import FUNCTION, words
from carecall.phi.model import Label
from carecall.phi.spoken import MONTHS, TEENS, TENS, UNITS

_VERBS = (r"(?:work|clean|volunteer|intern|start|cook|temp)(?:s|ed|ing)?|drive|drives|driving"
          r"|drove|teach|teaches|teaching|taught|nurse|nurses|nursing")
_CUE_RE = re.compile(
    rf"\b(?:(?:{_VERBS})(?: (?:over|out|part time|full time|nights|days|weekends|there))?"
    rf" (?:at|for)|(?:{_VERBS}) (?!the\b|a\b|an\b|it\b|them\b)[a-z]+ for"
    r"|employed (?:by|at|with)|employer(?: is|,)?|(?:hired|fired|laid off|let go) (?:by|from|at)"
    r"|(?:retired|resigned|on leave|on disability) from"
    r"|(?:job|position|shift|boss|manager|supervisor|coworkers?|co-workers?|employees?) (?:at|with)"
    r"|company called|(?:i'm|im|i am|he's|hes|he is|she's|shes|she is|they're|we're|i was|he was"
    r"|she was) an? (?!patient|member|customer|client|guest|visitor|regular|resident)[a-z]+"
    r"(?: [a-z]+)? (?:at|for|with)|(?:do|does|did) [a-z]+ (?:for|at)) "
)
"""What is said before an employer: "I work at", "she's a nurse at", "laid off from", "my
boss at", "he does maintenance for"."""
_TRIGGERS = frozenset(
    f"{verb}{ending}" for verb in ("work", "clean", "volunteer", "intern", "start", "cook", "temp")
    for ending in ("", "s", "ed", "ing")
) | words(
    """
    drive drives driving drove teach teaches teaching taught nurse nurses nursing employed
    employer hired fired laid let retired resigned leave disability job position shift boss
    manager supervisor coworker coworkers co employee employees company do does did
    """
)
"""Words one of which every cue but the role one ("she's a nurse at") holds: a line with
none of them is spared the regular expression."""
_ROLE_SUBJECTS = words("i'm im am he's hes she's shes is they're we're was")
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
    more much money pay cash hour hours living minimum wage it them home high middle
    elementary local public private grocery department hardware nursing retail fast other
    new old big small little same bus front desk
    """
)
_ABBREVIATED = words("inc corp ltd co")
_WORK_WORDS = words("work works worked working job employed employer employs from retired")
_NOT_NAME = words("since until now anymore today yesterday weeks months years days hours "
                  "full part time nights last next this week month year ago tomorrow tonight "
                  "morning afternoon evening")
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
        if j < scan.count and scan.lex.is_word(scan.norms[j]) and not scan.capitalised(j):
            return  # "at the library", "at the community college": a kind of place
    end = j - 1
    capitals = scan.capitalised(j)  # "Greyfield Logistics": a capitalised name ends with them
    while end + 1 - j < _WORDS_MAX and (
            (_name_word(scan, end + 1) and (not capitals or scan.capitalised(end + 1))) or (
            capitals and end >= j and scan.norm(end + 1) in ("and", "&")
            and scan.capitalised(end + 2))):  # "Brennick Tool and Die"
        end += 1
        if capitals and scan.norm(end + 1) == "-" and end + 2 < scan.count and (
                scan.toks[end + 1].start == scan.toks[end].end == scan.toks[end + 1].start) and (
                scan.toks[end + 2].start == scan.toks[end + 1].end) and _name_word(scan, end + 2):
            end += 2  # "Tri-County Poultry"
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
        if (n in _COMPANY_SUFFIXES or n in _PLACE_SUFFIXES) and not (
                i + 1 < scan.count and scan.toks[i + 1].start == scan.toks[i].end
                and scan.norms[i + 1][:1].isalnum()):
            _before_suffix(scan, i)  # not the "INC" of "INC0048821"
    present = set(norms)
    if present.isdisjoint(_TRIGGERS) and not (
            not present.isdisjoint(_ROLE_SUBJECTS) and ("a" in present or "an" in present) and (
            "at" in present or "for" in present or "with" in present)):
        return
    starts: dict[int, int] | None = None
    for m in _CUE_RE.finditer(scan.text.lower()):
        if starts is None:
            starts = {tok.start: k for k, tok in enumerate(scan.toks)}
        j = starts.get(m.end())
        if j is not None:
            _after_cue(scan, j)
