"""Cue words: what a caller says just before an identifier, and what an agent asks for.

Each table maps a phrase (as lower-case words) to the label the following identifier gets.
The closest cue wins, so "my phone number and my member id is ..." reads as a member id.
"""

from __future__ import annotations

import re

from carecall.phi._vocab import words
from carecall.phi.model import Label

_NO = r"(?: number| no| num| #| id| i d| code)?"
_ID_CUES: tuple[tuple[str, Label], ...] = (
    (r"social(?: security)?(?: number| no| card)?|ssn|ss number|(?:last four|last 4)(?: digits)?"
     r"(?! (?:of|on|for) (?:my|the|your|his|her) (?:\w+ )?(?:card|visa|mastercard|amex|account))",
     Label.SSN),
    (rf"(?:medical )?record{_NO}|mrn|chart{_NO}|patient (?:id|i d|number|identifier)"
     rf"|medical record|hospital number|med rec{_NO}|wristband|arm ?band|bracelet|id band|m r n",
     Label.MRN),
    (rf"(?:blue cross|blue shield|aetna|cigna|humana|united ?healthcare|tricare|medicare"
     rf"|medicaid|insurance|plan|member|benefits?|health) (?:id |member )?card"
     rf"|policy ?holder{_NO}|member{_NO}|policy{_NO}|group{_NO}|medicare{_NO}|medicaid{_NO}|mbi"
     rf"|insurance(?: id| number| card| policy| member id)?|subscriber{_NO}|plan (?:id|number)"
     rf"|health plan{_NO}|beneficiary{_NO}|insurance card|id card|tricare{_NO}"
     rf"|blue cross{_NO}|aetna{_NO}|cigna{_NO}|humana{_NO}|united ?healthcare{_NO}"
     rf"|grp{_NO}|mbr{_NO}|bic|medi-?cal{_NO}|medi cal{_NO}",
     Label.HEALTH_PLAN_ID),
    (rf"account{_NO}|acct{_NO}|invoice{_NO}|inv|card{_NO}|credit card|debit card"
     rf"|card ending(?: in)?|ending in|billing (?:number|id|account)|statement{_NO}"
     rf"|routing{_NO}|visa|mastercard|amex|american express|discover|bill number"
     rf"|receipt{_NO}|guarantor{_NO}|bank account", Label.ACCOUNT_NUMBER),
    (rf"(?:driver'?s?|drivers|driving) licen[cs]e{_NO}|licen[cs]e{_NO}|dl{_NO}|d l{_NO}"
     rf"|permit{_NO}|dea{_NO}|npi{_NO}|state id|lic{_NO}", Label.LICENSE_NUMBER),
    (rf"(?:licen[cs]e )?plate{_NO}|licen[cs]e plate{_NO}|tag number|vin{_NO}"
     rf"|vehicle(?: identification)?{_NO}|car'?s? vin|registration number|car registration|tags?"
     r"|(?:my|the|his|her) (?:car|truck|van)",
     Label.VEHICLE_ID),
    (r"(?:pacemaker|implant|device|defibrillator|icd|pump|valve|stent)(?: id| identification)?"
     rf" card|serial{_NO}|ser no|device{_NO}|device serial|pacemaker|defibrillator|icd|pump|implant"
     r"|implanted|hearing aids?|cpap|c pap|bipap|monitor|meter|glucometer|imei|transmitter"
     rf"|sensor|cgm|inhaler serial|concentrator|nebulizer|stimulator|wheelchair|model and serial"
     rf"|s n|sn|s/n|defib|aicd|lvad|oximeter|lot{_NO}|udi|receiver|ventilator|insulin pen"
     rf"|omnipod|dexcom|libre|neurostimulator|cochlear(?: implant)?|mac address"
     rf"|unit (?:number|id|serial)|equipment (?:number|id|serial)|oxygen tank|tank{_NO}|holter"
     rf"|loop recorder|tens unit|pulse ox|cuff|medtronic|resmed|respironics|tandem|abbott"
     rf"|boston scientific|biotronik|phonak|oticon|starkey|invacare", Label.DEVICE_ID),
    (r"e-?fax|fax(?:es)?(?: number| no| line| machine)?|fax ?#|faxed(?: it)?(?: to)?"
     r"|facsimile(?: number| no| line)?|fx"
     r"|faxing(?: it)?(?: to)?|fax(?: [a-z']+){1,3} to", Label.FAX),
    (r"phone(?: number| no)?|cell(?: phone| number)?|mobile(?: number)?|telephone|landline"
     r"|call me(?: back)?(?: at| on)?|reach me(?: at| on)?|callback(?: number)?"
     r"|call back number|call back at|home number|work number|text me(?: at)?"
     r"|contact number|best number|daytime number|pager|extension|cb|cbn", Label.PHONE),
    (r"zip(?: code)?|postal code|zipcode|z i p", Label.ADDRESS),
    (r"ip(?: address)?|i p(?: address)?", Label.IP_ADDRESS),
    (r"email(?: address)?|e mail|e-mail", Label.EMAIL),
    (r"website|web site|web address|url|portal(?: link| address)?|web page|webpage|homepage"
     r"|link", Label.URL),
    (rf"confirmation{_NO}|reference{_NO}|case{_NO}|claim{_NO}|prescription{_NO}|rx{_NO}"
     rf"|order{_NO}|ticket{_NO}|authorization{_NO}|auth{_NO}|tracking{_NO}"
     r"|referral (?:number|no|id|code)"
     rf"|identification{_NO}|employee{_NO}|student{_NO}|passport{_NO}|pin|badge{_NO}"
     rf"|voucher{_NO}|certificate{_NO}|tax id|ein|itin|military id|appeal{_NO}|rma{_NO}"
     rf"|return authorization{_NO}",
     Label.OTHER_ID),
    (r"date of birth|birth ?date|birthday|dob|d o b|born(?: on)?", Label.DATE),
)

_CUE_RE = re.compile(
    "|".join(f"(?P<c{i}>\\b(?:{pattern})\\b)" for i, (pattern, _) in enumerate(_ID_CUES))
)
_CUE_LABELS = {f"c{i}": label for i, (_, label) in enumerate(_ID_CUES)}


_GENERIC_RE = re.compile(r"\b(?:id|i d|number)\b")


def cue_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the identifier cues in lower-case ``text`` ("blue cross", "record")."""
    return [m.span() for m in _CUE_RE.finditer(text)]


def _pattern_words(pattern: str) -> set[str]:
    """The words a cue pattern can match: "licen[cs]e" gives "licence" and "license",
    "policy ?holder" gives "policyholder" as well as its two words."""
    for m in re.finditer(r"([a-z]*)\[([a-z]+)\]([a-z]*)", pattern):
        pattern += "|" + "|".join(m.group(1) + c + m.group(3) for c in m.group(2))
    for m in re.finditer(r"([a-z]+)[ -]\?([a-z]+)", pattern):  # "policy ?holder", "e-?fax"
        pattern += "|" + m.group(1) + m.group(2)
    for m in re.finditer(r"([a-z]+)\(\?:([a-z|]+)\)\?", pattern):  # "fax(?:es)?"
        pattern += "|" + "|".join(m.group(1) + end for end in m.group(2).split("|"))
    for m in re.finditer(r"([a-z]+)[a-z]\?", pattern):  # "tags?" also matches "tag"
        pattern += "|" + m.group(1)
    return set(re.findall(r"[a-z]+", pattern))


_PATTERN_WORDS = frozenset(
    w for pattern, _ in _ID_CUES for w in _pattern_words(pattern)
) - words("i o w a and at for her his in it me my no of on the to your") | {
    "id", "d", "number"}
"""Every word the cue patterns are made of (with the generic "id"), less the small words no
cue is made of alone ("call me at" has "call", "d o b" has "d"): a window sharing none of
them holds no cue, which spares most windows the long regular expression."""
_WORD_RE = re.compile(r"[a-z]+")
CUE_WORDS = frozenset(w for w in _PATTERN_WORDS if len(w) >= 3)
"""Every word of three letters or more that some identifier cue is made of."""


def closest_cue(window: str) -> tuple[Label, int] | None:
    """The label of the cue nearest the end of ``window``, and the cue's end offset; a bare
    "id" counts only when nothing more specific was said ("transmitter id" is a device)."""
    if _PATTERN_WORDS.isdisjoint(_WORD_RE.findall(window)):
        return None
    return closest_cue_unfiltered(window)


def is_cue(word: str) -> bool:
    """Whether ``word`` is a whole cue by itself ("sn", "mrn", "dob", "id")."""
    return _CUE_RE.fullmatch(word) is not None or _GENERIC_RE.fullmatch(word) is not None


def all_cues(window: str) -> set[Label]:
    """The labels of every cue in ``window``."""
    if _PATTERN_WORDS.isdisjoint(_WORD_RE.findall(window)):
        return set()
    return {_CUE_LABELS[m.lastgroup] for m in _CUE_RE.finditer(window) if m.lastgroup}


def closest_cue_unfiltered(window: str) -> tuple[Label, int] | None:
    """``closest_cue`` without the word filter (the tests hold the two equal)."""
    best: tuple[Label, int] | None = None
    for m in _GENERIC_RE.finditer(window):
        if m.group() != "number":
            best = (Label.OTHER_ID, m.end())
    for m in _CUE_RE.finditer(window):
        if m.lastgroup is not None and (best is None or (best[0] is Label.OTHER_ID
                                        and _GENERIC_RE.fullmatch(window[best[1] - 3 : best[1]]
                                                                  .strip()) is not None)
                                        or m.end() >= best[1]):
            best = (_CUE_LABELS[m.lastgroup], m.end())
    return best


_ASK_NAME_RE = re.compile(r"\b(?:your|the patient'?s?|his|her|their) (?:full |first |last )?name"
                          r"|\bwho am i speaking|\bwho(?:'s| is) calling|\bspell\b|\bname please")
_ASK_DATE_RE = re.compile(r"date of birth|birth ?date|birthday|\bdob\b|\bborn\b|what date"
                          r"|which date|date of (?:service|the visit|admission|discharge)"
                          r"|when were you")


def agent_asks(previous_agent_text: str | None) -> set[Label]:
    """What the agent's last question asked for; a bare answer is read as that."""
    if not previous_agent_text:
        return set()
    text = previous_agent_text.lower()
    asked: set[Label] = set()
    if _ASK_NAME_RE.search(text):
        asked.add(Label.NAME)
    if _ASK_DATE_RE.search(text):
        asked.add(Label.DATE)
    if "address" in text and "email" not in text and "ip" not in text:
        asked.add(Label.ADDRESS)
    cue = _first_cue_of_last_question(text)
    if cue is not None:
        asked.add(cue)
    return asked


_SENTENCES_RE = re.compile(r"(?<=[.?!])\s+")


def _first_cue_of_last_question(text: str) -> Label | None:
    """What a question asks for is its first cue ("what's the member id on your card?" asks
    for the member id, not the card), in the last sentence that has one."""
    for sentence in reversed(_SENTENCES_RE.split(text)):
        got = first_cue(sentence)
        if got is not None:
            return got
    return None


def first_cue(text: str) -> Label | None:
    """The label of the first cue in ``text``: what a question asks for, or what a value
    said before its cue is ("w four four one is my member id")."""
    first = _CUE_RE.search(text)
    generic = _GENERIC_RE.search(text)
    if generic is not None and generic.group() == "number":
        generic = None
    if first is not None and first.lastgroup is not None:
        if generic is not None and generic.end() < first.start():
            return Label.OTHER_ID
        return _CUE_LABELS[first.lastgroup]
    return Label.OTHER_ID if generic is not None else None


NAME_CUE_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in """
    my name is|name is|name's|names|this is|it's|its|i am|i'm|im|speaking with|speak to|speak with
    talk to|talk with|ask for|calling for|calling about|calling on behalf of|on behalf of|mr|mrs|ms
    miss|dr|doctor|nurse|patient|first name|last name|surname|named|name|spelled|husband|wife
    son|daughter|mother|mom|father|dad|brother|sister|grandson|granddaughter|grandmother|grandma
    grandfather|grandpa|partner|boyfriend|girlfriend|caregiver|aunt|uncle|niece|nephew|friend
    neighbor|neighbour|child|baby|fiance|fiancee|stepson|stepdaughter|cousin|mister|missus
    stepmother|stepfather|stepmom|stepdad|stepbrother|stepsister|in - law|in-law|spouse
    roommate|landlord|landlady|guardian|caretaker|sibling|twin|godmother|godfather|goddaughter
    godson|granddad|grandmom|nana|boss|manager|supervisor|coworker|co - worker|colleague
    therapist|pharmacist|physician|dentist|surgeon|provider|emergency contact|contact is
    attention|attn|referred by|seen by|saw|signed by|ordered by|dear|relative|kid|kids
    reverend|rev|pastor|officer|sergeant|sgt|deputy|detective|professor|prof|judge|coach
    captain|sister|caseworker|case worker|social worker|aide|goes by|go by|called|little
    tell|remind|let|thanks|thank you|hi|hey|appointment for|message for|paperwork for
    """.replace("\n", "|").split("|")
    if p.strip()
)
STRONG_NAME_CUES = frozenset(
    {("my", "name", "is"), ("name", "is"), ("name's",), ("names",), ("first", "name"),
     ("last", "name"), ("surname",), ("named",), ("mr",), ("mrs",), ("ms",), ("dr",),
     ("doctor",), ("mister",), ("spelled",), ("speak", "to"), ("speak", "with"),
     ("speaking", "with"), ("ask", "for"), ("missus",), ("reverend",), ("rev",), ("pastor",),
     ("officer",), ("sergeant",), ("sgt",), ("deputy",), ("detective",), ("professor",),
     ("prof",), ("judge",), ("goes", "by"), ("go", "by")}
)
"""Cues after which even an ordinary word ("grace", "will") is a name."""

RELATIVES = words(
    """husband wife son daughter mother mom father dad brother sister grandson granddaughter
    grandmother grandma grandfather grandpa partner boyfriend girlfriend aunt uncle niece nephew
    cousin stepson stepdaughter stepmother stepfather stepmom stepdad fiance fiancee spouse
    caregiver neighbor neighbour roommate friend"""
)
"""Relatives and household members: the word after "my wife" is a name even when it is also a
word ("my wife hope", "my son mark")."""

EMPLOYER_CUES: tuple[tuple[str, ...], ...] = (
    ("i", "work", "at"), ("i", "work", "for"), ("employer", "is"), ("employed", "by"),
    ("i", "work", "over", "at"), ("works", "at"), ("works", "for"),
)
