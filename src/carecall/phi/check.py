"""Does an outgoing text (SMS, outbound script) carry personal identifiers?

The outbound policy refuses content with identifiers (CONTENT_HAS_IDENTIFIERS): an SMS or a
voicemail can be read by whoever holds the phone, so it may name the practice and the
appointment time but nothing that identifies the patient (45 CFR 164.510(b) and HHS guidance
on leaving messages; see shared/reference/rules.md). The practice's own name and numbers and
the appointment's own day and time are therefore allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext, KnownIdentifiers, Label, Span
from carecall.phi.spoken import dates_in_tokens, tokenize


@dataclass(frozen=True, slots=True)
class AllowList:
    """What an outbound text may say: the sender's own identity and the appointment."""

    practice_name: str | None = None
    practice_phones: Sequence[str] = ()
    appointments: Sequence[datetime] = ()
    extra: Sequence[str] = field(default_factory=tuple)


_DETECTOR: PhiDetector | None = None


def _detector() -> PhiDetector:
    global _DETECTOR  # noqa: PLW0603 - one lexicon per process, loaded on first use
    if _DETECTOR is None:
        _DETECTOR = PhiDetector()
    return _DETECTOR


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _allowed(span: Span, allow: AllowList) -> bool:
    value = span.text.lower()
    if allow.practice_name and span.label is Label.NAME:
        practice = allow.practice_name.lower()
        if value in practice:
            return True
    if span.label in (Label.PHONE, Label.FAX):
        digits = _digits(span.text)[-10:]
        if any(_digits(p)[-10:] == digits for p in allow.practice_phones):
            return True
    if span.label is Label.DATE:
        for value_date, _, _ in dates_in_tokens(tokenize(span.text), span.text):
            for when in allow.appointments:
                if value_date.month == when.month and value_date.day == when.day and (
                    value_date.year in (None, when.year)
                ):
                    return True
    return any(x.lower() == value for x in allow.extra)


def find_identifiers(text: str, patient: KnownIdentifiers | None = None,
                     allow: AllowList | None = None) -> list[Span]:
    """Every identifier in ``text`` that is not on the allow list (empty means clean)."""
    allow = allow or AllowList()
    masked = text
    if allow.practice_name:
        # the practice's name may contain personal names ("Dr Patel Family Care")
        masked = re.sub(re.escape(allow.practice_name), lambda m: " " * len(m.group()), text,
                        flags=re.IGNORECASE)
    context = DetectContext(known=patient) if patient else None
    spans = _detector().detect(masked, context)
    return [
        Span(s.start, s.end, s.label, text[s.start : s.end])
        for s in spans
        if not _allowed(s, allow)
    ]


def has_identifiers(text: str, patient: KnownIdentifiers | None = None,
                    allow: AllowList | None = None) -> bool:
    return bool(find_identifiers(text, patient, allow))
