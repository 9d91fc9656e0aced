"""How long a text is on the wire: GSM-7 or UCS-2, units, and segments.

3GPP TS 23.038: a text whose every character is in the GSM 7-bit default alphabet is sent in
GSM-7, where the extension-table characters (``^ { } \\ [ ] ~ | €`` and form feed) take an
escape plus the character, i.e. two septets. Any other character forces the whole text into
UCS-2 (UTF-16 code units, so a character outside the Basic Multilingual Plane, such as most
emoji, takes two). One segment holds 160 septets or 70 UCS-2 units; a concatenated message
loses room to its header (153 septets or 67 units a segment) and never splits an escape pair
or a surrogate pair across segments (TS 23.040 9.2.3.24.1).

The FCC's healthcare exemption (47 CFR 64.1200(a)(9)(iv)) allows texts of 160 characters or
less; carecall reads that as one single-part message (160 GSM-7 septets, 70 UCS-2 units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
SINGLE_UCS2 = 70
MULTI_GSM7 = 153
MULTI_UCS2 = 67


@dataclass(frozen=True, slots=True)
class SmsMeasure:
    """``characters``: Python characters; ``units``: septets (GSM-7) or UTF-16 code units
    (UCS-2); ``limit``: units that fit one single-part message in this encoding."""

    encoding: Encoding
    characters: int
    units: int
    segments: int

    @property
    def limit(self) -> int:
        return SINGLE_GSM7 if self.encoding == "GSM-7" else SINGLE_UCS2

    @property
    def single_segment(self) -> bool:
        return self.units <= self.limit


def _unit_widths(text: str) -> tuple[Encoding, list[int]]:
    widths: list[int] = []
    for char in text:
        if char in _GSM7_BASIC:
            widths.append(1)
        elif char in _GSM7_EXTENSION:
            widths.append(2)
        else:
            return "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]
    return "GSM-7", widths


def _segments(widths: list[int], single: int, multi: int) -> int:
    total = sum(widths)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for width in widths:  # an escape or surrogate pair never straddles two segments
        if used + width > multi:
            segments, used = segments + 1, 0
        used += width
    return segments


def measure(text: str) -> SmsMeasure:
    """The encoding, length and segment count of ``text`` as an SMS body."""
    encoding, widths = _unit_widths(text)
    if encoding == "GSM-7":
        segments = _segments(widths, SINGLE_GSM7, MULTI_GSM7)
    else:
        segments = _segments(widths, SINGLE_UCS2, MULTI_UCS2)
    return SmsMeasure(encoding, len(text), sum(widths), segments)


def too_long(text: str) -> bool:
    """More than fits one single-part message: 160 GSM-7 septets or 70 UCS-2 units."""
    return not measure(text).single_segment
