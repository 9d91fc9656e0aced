"""What an automated message may say (47 CFR 64.1200(a)(9)(iv); HIPAA minimum necessary).

- Length: a call's spoken message at most 60 s (words at 150 a minute; a run of five or more
  digits, such as a phone number, is read digit by digit) and a declared maximum duration of
  at most 60 s; a text at most one single-part SMS (see ``sms_length``).
- Opt-out: a text carries "Reply STOP"; a call script offers a spoken or key-press opt-out.
- Provider: the practice is named (its full name; case, spacing and punctuation ignored).
- Prohibited: billing, balance, payment, debt, collections and marketing language (the
  exemption excludes "telemarketing, solicitation, or advertising ... billing, debt
  collection, or other financial content"); for ``lab_results``, availability only, so no
  result words (positive, abnormal, ...).
- Identifiers: the PHI checker over the text, plus the patient's own names spelled as on
  record; the practice's own name and number and the appointment's own date, weekday and
  time are allowed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from functools import lru_cache

from carecall.phi.check import AllowList, find_identifiers
from carecall.phi.lexicon import load as load_lexicon
from carecall.phi.spoken import parse_date
from carecall.policy.model import Channel, Message, PatientFacts, Reason, TenantFacts
from carecall.policy.sms_length import too_long

MAX_CALL_SECONDS = 60.0
WORDS_PER_MINUTE = 150

_WORD = re.compile(r"\S+")
_DIGIT_RUN = re.compile(r"\d")

_SMS_OPT_OUT = re.compile(r"\breply\s+[\"'\u201c\u2018]?stop\b", re.IGNORECASE)
_VOICE_OPT_OUT = re.compile(
    r"\bopt(?:\s|-)?out\b"
    r"|\bsay\s+[\"'\u201c\u2018]?(?:stop|opt out|unsubscribe)\b"
    r"|\bpress\s+(?:\d|star|pound|one|two|three|four|five|six|seven|eight|nine|zero)\b"
    r"[^.]*\b(?:stop|opt|remove|unsubscribe|no longer)"
    r"|\bto\s+stop\s+(?:these|receiving|future|all)\b"
    r"|\bno\s+longer\s+(?:wish|want)\s+to\s+(?:receive|get)\b",
    re.IGNORECASE,
)

_PROHIBITED = re.compile(
    r"\b(?:bill|bills|billing|billed|balance|balances|payment|payments|pay|paying|paid|"
    r"owe|owed|owing|overdue|past\s+due|amount\s+due|debt|debts|collection|collections|"
    r"invoice|invoices|co-?pay|co-?pays|deductible|"
    r"sale|sales|discount|discounts|promo|promos|promotion|promotions|coupon|coupons|"
    r"offer|offers|special\s+offer|limited\s+time|buy|purchase|deal|deals|free\s+gift)\b"
    r"|\$\s?\d|\d+\s?%\s?off\b",
    re.IGNORECASE,
)
_LAB_RESULT_WORDS = re.compile(
    r"\b(?:positive|negative|abnormal|normal|elevated|detected|diagnos\w*|"
    r"mg/dl|mmol|a1c|cholesterol|glucose)\b",
    re.IGNORECASE,
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@lru_cache(maxsize=16384)
def spoken_seconds(script: str) -> float:
    """Estimated speaking time at 150 words a minute."""
    words = 0
    for token in _WORD.findall(script):
        digits = len(_DIGIT_RUN.findall(token))
        words += digits if digits >= 5 else 1
    return words * 60.0 / WORDS_PER_MINUTE


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def names_provider(text: str, practice: str) -> bool:
    name = _fold(practice)
    return bool(name) and f" {name} " in f" {_fold(text)} "


def prohibited(text: str, purpose: str) -> bool:
    if _PROHIBITED.search(text):
        return True
    return purpose == "lab_results" and _LAB_RESULT_WORDS.search(text) is not None


def has_opt_out_notice(text: str, channel: Channel) -> bool:
    pattern = _SMS_OPT_OUT if channel == Channel.SMS else _VOICE_OPT_OUT
    return pattern.search(text) is not None


@lru_cache(maxsize=16384)
def _text_reasons(text: str, channel: Channel, purpose: str, practice: str) -> frozenset[Reason]:
    """The rules that depend on the text alone, memoised: a campaign renders a few
    templates, so most of its contacts share a text."""
    found: set[Reason] = set()
    if channel == Channel.VOICE and spoken_seconds(text) > MAX_CALL_SECONDS:
        found.add(Reason.CALL_TOO_LONG)
    if channel == Channel.SMS and too_long(text):
        found.add(Reason.SMS_TOO_LONG)
    if not has_opt_out_notice(text, channel):
        found.add(Reason.OPT_OUT_NOTICE_MISSING)
    if not names_provider(text, practice):
        found.add(Reason.PROVIDER_ID_MISSING)
    if prohibited(text, purpose):
        found.add(Reason.CONTENT_PROHIBITED)
    return frozenset(found)


def _weekday_words(day: date) -> tuple[str, ...]:
    full = _WEEKDAYS[day.weekday()]
    return (full, full[:3], full[:3] + ".", full[:4], full[:4] + ".")


@lru_cache(maxsize=65536)
def _letters(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word)
    return "".join(c for c in folded.casefold() if c.isalpha())


@lru_cache(maxsize=16384)
def _any_identifier(text: str, practice: str, phone: str, day: date | None) -> bool:
    """The PHI checker over the text alone: keyed on what a campaign repeats (template text,
    practice, the appointment's local day), so thousands of patients share one detector run.
    Only the day matters: the checker reads clock times as no identifier, and allows a date
    by its month, day and year."""
    allow = AllowList(
        practice_name=practice,
        practice_phones=(phone,),
        appointments=(datetime.combine(day, time()),) if day else (),
        extra=_weekday_words(day) if day else (),
    )
    return bool(find_identifiers(text, None, allow))


_WORDS = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_SENTENCE_ENDS = frozenset(".!?:")


@lru_cache(maxsize=16384)
def _word_index(text: str) -> dict[str, bool]:
    """Every word of the text, letters-folded, and whether some occurrence of it is
    capitalised mid-sentence (so reads as a name even when it is also an ordinary word)."""
    index: dict[str, bool] = {}
    last = ""  # the last non-space character before the current word
    end = 0
    for match in _WORDS.finditer(text):
        between = text[end : match.start()].strip()
        last = between[-1] if between else last
        mid_sentence = last != "" and last not in _SENTENCE_ENDS
        word = _letters(match.group())
        index[word] = index.get(word, False) or (match.group()[0].isupper() and mid_sentence)
        last, end = match.group()[-1], match.end()
    return index


def names_patient(text: str, patient: PatientFacts) -> bool:
    """The patient's own name, spelled as on record, anywhere in the text. A name part that
    is also an ordinary word ("Will", "May", "Hope") counts only capitalised mid-sentence."""
    index = _word_index(text)
    lexicon = load_lexicon()
    for name in (patient.first_name, patient.last_name):
        for part in (name or "").split():
            word = _letters(part)
            if len(word) < 2 or word not in index:
                continue
            if index[word] or not lexicon.is_word(word):
                return True
    return False


def has_identifiers(message: Message, tenant: TenantFacts, patient: PatientFacts,
                    appointment_local: datetime | None) -> bool:
    """Any identifier the PHI checker finds in the text (names, dates other than the
    appointment's, numbers other than the practice's, addresses, emails, ids), or the
    patient's own name.

    The checker's context of known identifiers is not used: its sound-alike matching is for
    misheard speech ("margret" for "Margaret") and, on a text we wrote, flags ordinary words
    ("more" for "Maria"); running it per patient would also cost a detector pass for each
    of a campaign's contacts. The patient's date of birth needs no special case: every date
    but the appointment's is refused."""
    day = appointment_local.date() if appointment_local else None
    if _any_identifier(message.text, tenant.name, tenant.contact_phone, day):
        return True
    return names_patient(message.text, patient)


#: How far ahead a date in a message may lie and still be read as the appointment's.
_APPOINTMENT_HORIZON_DAYS = 366


def upcoming_day(text: str, today: date, dob: date | None) -> date | None:
    """The appointment's day when the caller did not say it (the ``policy check`` contract
    has no appointment field): the first date in the text that falls within the coming year
    (a date without a year is taken at its next occurrence). A date of birth lies in the
    past, so it is never taken; nor is any date on the patient's birthday, in case the text
    means it. Every other date in the text stays an identifier."""
    for year_said, month, day_of_month in _dates_said(text):
        if dob is not None and (month, day_of_month) == (dob.month, dob.day):
            continue
        years = (year_said,) if year_said is not None else (today.year, today.year + 1)
        for year in years:
            try:
                day = date(year, month, day_of_month)
            except ValueError:
                continue
            if 0 <= (day - today).days <= _APPOINTMENT_HORIZON_DAYS:
                return day
    return None


@lru_cache(maxsize=16384)
def _dates_said(text: str) -> tuple[tuple[int | None, int, int], ...]:
    """(year or None, month, day) of every date in the text: parsed once per text, since a
    campaign sends one template to thousands of patients."""
    return tuple(
        (value.year, value.month, value.day)
        for value, _, _ in parse_date(text)
        if value.month is not None and value.day is not None
    )


def content_reasons(message: Message, tenant: TenantFacts, patient: PatientFacts,
                    appointment_local: datetime | None) -> list[Reason]:
    """Every content rule that the automated ``message`` breaks, in ``Reason`` order."""
    found = set(_text_reasons(message.text, message.channel, message.purpose, tenant.name))
    if (message.channel == Channel.VOICE and message.max_duration_s is not None
            and message.max_duration_s > MAX_CALL_SECONDS):
        found.add(Reason.CALL_TOO_LONG)
    if has_identifiers(message, tenant, patient, appointment_local):
        found.add(Reason.CONTENT_HAS_IDENTIFIERS)
    return [r for r in _CONTENT_ORDER if r in found]


_CONTENT_ORDER = (Reason.CALL_TOO_LONG, Reason.SMS_TOO_LONG, Reason.CONTENT_HAS_IDENTIFIERS,
                  Reason.OPT_OUT_NOTICE_MISSING, Reason.PROVIDER_ID_MISSING,
                  Reason.CONTENT_PROHIBITED)
