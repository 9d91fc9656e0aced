"""Reading identifiers out of what a caller said, in spoken or written form (pure).

The PHI issue's tokenizer does the hard part: dates ("march third eighty two", "3/3/82",
"oh three oh three eighty two"), digit strings ("six one seven five five five..."), spelled
letters ("k o w a l s k i", "m as in mary"). Here they are assigned a meaning from what the
agent asked: five digits after "what is your ZIP code" are a ZIP, after "your date of birth"
a date. What is left after the numbers and filler words is read as a name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from carecall.calls.rules import Claims
from carecall.phi.spoken import FILLERS, MONTHS, parse_date, parse_digits, parse_spelled

#: What the agent last asked for; decides how ambiguous digits are read.
ASK_IDENTITY = "identity"  # full name and date of birth
ASK_DOB = "dob"
ASK_SECOND = "second"  # another identifier: name, phone, ZIP or street address
ASK_BILLING = "billing"  # last date of service or invoice number

_STREET = re.compile(
    r"^\s*((?:[a-z]+\s+){0,3}?(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|way|court|ct|"
    r"boulevard|blvd|place|pl|terrace|circle|square|parkway|highway))\b",
    re.IGNORECASE,
)
_STOP = frozenset({
    "don't", "dont", "know", "i'd", "rather", "say", "just", "look", "up", "idea", "have",
    "my", "name", "names", "is", "it's", "its", "this", "i'm", "im", "i", "am", "and", "born",
    "on", "the", "date", "of", "birth", "birthday", "dob", "yes", "yeah", "yep", "hi", "hello",
    "sure", "ok", "okay", "it", "calling", "speaking", "apostrophe", "dash", "hyphen", "last",
    "first", "spelled", "spell", "spelt", "that's", "thats", "with", "a", "an", "as", "in",
    "zip", "code", "postal", "phone", "number", "address", "live", "at", "lives", "s", "full",
    "sorry", "oh", "well", "so", "um", "me", "call", "called", "hey", "good", "morning",
    "afternoon", "evening", "thanks", "thank", "you", "please", "was", "year", "day", "month",
    "for", "about", "like", "want", "would", "to", "check", "appointment", "mine", "who", "be",
    "from", "visit", "invoice", "dollars", "street", "that", "correct", "right", "no", "not",
    "but", "or", "again", "here", "there", "your", "you're", "hmm",
})


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _spelled_joined(text: str) -> str:
    """Replace spelled runs ("m as in mary a r y") by the word they spell."""
    cleaned = re.sub(r"\b(?:apostrophe|dash|hyphen)\b", " ", text, flags=re.IGNORECASE)
    out: list[str] = []
    pos = 0
    for word, start, end in parse_spelled(cleaned):
        out.append(cleaned[pos:start])
        out.append(f" {word} ")
        pos = end
    out.append(cleaned[pos:])
    return "".join(out)


def read_claims(text: str, asked: str) -> Claims:  # noqa: PLR0912 - one branch per identifier
    """The identifiers found in one answer (fields not found stay None)."""
    lowered = text.lower()
    claims = Claims()
    used: list[tuple[int, int]] = []
    zip_context = "zip" in lowered or "postal" in lowered or asked == ASK_SECOND
    for value, start, end in parse_date(text):
        when = value.as_date()
        if when is None:
            if (value.explicit and value.year is None and value.month and value.day
                    and (asked == ASK_BILLING or "visit" in lowered or "service" in lowered)):
                used.append((start, end))
                claims = replace(claims, last_visit_day=f"{value.month:02d}-{value.day:02d}")
            continue
        digits_only = not value.explicit
        if digits_only and zip_context and len(re.sub(r"\D", "", text[start:end])) <= 5:
            continue
        if digits_only and asked not in (ASK_IDENTITY, ASK_DOB, ASK_BILLING):
            continue
        if digits_only and asked == ASK_BILLING and re.search(r"\b(?:inv|invoice|number)", lowered):
            continue
        used.append((start, end))
        claims = _with_date(claims, when, asked, lowered)
    for digits, start, end in parse_digits(text):
        if _overlaps(start, end, used):
            continue
        after = text[end:]
        street = _STREET.match(after)
        if street and len(digits) <= 6:
            claims = replace(claims, street=f"{digits} {street.group(1)}")
            used.append((start, end + street.end()))
            continue
        if len(digits) in (10, 11) and (len(digits) == 10 or digits.startswith("1")):
            claims = replace(claims, phone=digits[-10:])
        elif len(digits) == 5 and asked != ASK_BILLING:
            claims = replace(claims, zip=digits)
        elif asked == ASK_BILLING and len(digits) >= 3:
            claims = replace(claims, invoice=digits)
        else:
            continue
        used.append((start, end))
    if asked in (ASK_IDENTITY, ASK_SECOND, ASK_DOB):
        words = _name_words(text, used)
        if len(words) >= 2:
            claims = replace(claims, name=" ".join(words[:6]))
        elif words:
            claims = replace(claims, partial_name=words[0])
    return claims


def _with_date(claims: Claims, when: date, asked: str, lowered: str) -> Claims:
    if asked == ASK_BILLING or "visit" in lowered or "service" in lowered:
        return replace(claims, last_visit=when)
    return replace(claims, dob=when)


def _name_words(text: str, used: list[tuple[int, int]]) -> list[str]:
    kept = list(text)
    for start, end in used:
        for i in range(start, end):
            kept[i] = " "
    rest = _spelled_joined("".join(kept))
    return [
        w
        for w in re.findall(r"[a-zà-ÿ]+(?:'[a-zà-ÿ]+)*", rest.lower())
        if w not in _STOP and w not in FILLERS and w not in MONTHS
    ]


def merge(old: Claims, new: Claims) -> Claims:
    """Later answers add to (and correct) earlier ones."""
    partial = new.partial_name
    name = new.name or old.name
    if partial and old.partial_name and old.partial_name != partial and not new.name:
        name = f"{old.partial_name} {partial}"
        partial = None
    return Claims(
        partial_name=partial or (None if name else old.partial_name),
        name=name,
        dob=new.dob or old.dob,
        phone=new.phone or old.phone,
        zip=new.zip or old.zip,
        street=new.street or old.street,
        last_visit=new.last_visit or old.last_visit,
        last_visit_day=new.last_visit_day or old.last_visit_day,
        invoice=new.invoice or old.invoice,
    )
