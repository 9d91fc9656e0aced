"""Cue words: what a caller says just before an identifier, and what an agent asks for.

Each table maps a phrase (as lower-case words) to the label the following identifier gets.
The closest cue wins, so "my phone number and my member id is ..." reads as a member id.
"""

from __future__ import annotations

import re

from carecall.phi.model import Label

_ID_CUES: tuple[tuple[str, Label], ...] = (
    (r"social(?: security)?(?: number)?|ssn|last four|last 4", Label.SSN),
    (r"(?:medical )?record number|mrn|chart number|patient (?:id|number)|medical record",
     Label.MRN),
    (r"member(?: id| number| i d)?|policy(?: number)?|group(?: number| id)?|medicare|medicaid"
     r"|insurance(?: id| number| card)?|subscriber(?: id| number)?|plan (?:id|number)|mbi"
     r"|health plan", Label.HEALTH_PLAN_ID),
    (r"account(?: number)?|invoice(?: number)?|card(?: number)?|credit card|debit card"
     r"|billing(?: number)?|statement(?: number)?|routing(?: number)?|visa|mastercard",
     Label.ACCOUNT_NUMBER),
    (r"(?:driver'?s? )?licen[cs]e(?: number)?|dl number|permit number", Label.LICENSE_NUMBER),
    (r"(?:license )?plate(?: number)?|vin|vehicle(?: id| number)?|tag number", Label.VEHICLE_ID),
    (r"serial(?: number)?|device(?: id| number)?|pacemaker|pump|implant|hearing aid|cpap"
     r"|monitor|meter|imei|transmitter|sensor|cgm|inhaler serial", Label.DEVICE_ID),
    (r"fax(?: number)?", Label.FAX),
    (r"phone(?: number)?|cell(?: phone)?|mobile|telephone|call me(?: back)?(?: at| on)?"
     r"|reach me(?: at| on)?|callback(?: number)?|call back number|home number"
     r"|work number|text me(?: at)?", Label.PHONE),
    (r"zip(?: code)?|postal code|zipcode", Label.ADDRESS),
    (r"ip(?: address)?|i p address", Label.IP_ADDRESS),
    (r"email|e mail|e-mail", Label.EMAIL),
    (r"website|web site|web address|url|portal", Label.URL),
    (r"confirmation(?: number| code)?|reference(?: number)?|case(?: number)?|claim(?: number)?"
     r"|prescription(?: number)?|rx(?: number)?|order(?: number)?|ticket(?: number)?"
     r"|authorization(?: number)?|tracking(?: number)?|identification(?: number)?"
     r"|employee(?: id| number)?|student(?: id| number)?|passport(?: number)?|pin",
     Label.OTHER_ID),
    (r"date of birth|birth ?date|birthday|dob|d o b|born(?: on)?", Label.DATE),
)

_CUE_RE = re.compile(
    "|".join(f"(?P<c{i}>\\b(?:{pattern})\\b)" for i, (pattern, _) in enumerate(_ID_CUES))
)
_CUE_LABELS = {f"c{i}": label for i, (_, label) in enumerate(_ID_CUES)}


_GENERIC_RE = re.compile(r"\b(?:id|i d|number)\b")


def closest_cue(window: str) -> tuple[Label, int] | None:
    """The label of the cue nearest the end of ``window``, and the cue's end offset; a bare
    "id" counts only when nothing more specific was said ("transmitter id" is a device)."""
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
_ASK_DATE_RE = re.compile(r"date of birth|birth ?date|birthday|\bdob\b|\bborn\b|what date|which date"  # noqa: E501
                          r"|date of (?:service|the visit|admission|discharge)|when were you")


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
    cue = closest_cue(text)
    if cue is not None:
        asked.add(cue[0])
    return asked


NAME_CUE_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in """
    my name is|name is|name's|names|this is|it's|its|i am|i'm|im|speaking with|speak to|speak with
    talk to|talk with|ask for|calling for|calling about|calling on behalf of|on behalf of|mr|mrs|ms
    miss|dr|doctor|nurse|patient|first name|last name|surname|named|name|spelled|husband|wife
    son|daughter|mother|mom|father|dad|brother|sister|grandson|granddaughter|grandmother|grandma
    grandfather|grandpa|partner|boyfriend|girlfriend|caregiver|aunt|uncle|niece|nephew|friend
    neighbor|neighbour|child|baby|fiance|fiancee|stepson|stepdaughter|cousin|mister|missus
    """.replace("\n", "|").split("|")
    if p.strip()
)
STRONG_NAME_CUES = frozenset(
    {("my", "name", "is"), ("name", "is"), ("name's",), ("names",), ("first", "name"),
     ("last", "name"), ("surname",), ("named",), ("mr",), ("mrs",), ("ms",), ("dr",),
     ("doctor",), ("mister",), ("spelled",), ("speak", "to"), ("speak", "with"),
     ("speaking", "with"), ("ask", "for"), ("missus",)}
)
"""Cues after which even an ordinary word ("grace", "will") is a name."""

EMPLOYER_CUES: tuple[tuple[str, ...], ...] = (
    ("i", "work", "at"), ("i", "work", "for"), ("employer", "is"), ("employed", "by"),
    ("i", "work", "over", "at"), ("works", "at"), ("works", "for"),
)
