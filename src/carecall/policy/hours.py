"""Calling hours in the patient's local time, DST-aware.

47 CFR 64.1200(c)(1): no call "before the hour of 8 a.m. or after 9 p.m. (local time at the
called party's location)". carecall's window is the half-open interval [08:00, 21:00) local:
08:00:00 is not before 8 a.m., so it is open; a contact decided at 21:00:00 rings (or lands)
after that instant, i.e. after 9 p.m., so 21:00:00 itself is closed. The decision always
precedes the ring, which is why the two ends are treated differently.

With no zone on record, the number's zones from phonenumbers' area-code data are used and the
window must hold in every one of them (a 208 number may be in Boise or in Los Angeles time).
A number whose zones are unknown has no window at all: it is never inside calling hours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from carecall.core.errors import InvalidInput

OPENS = time(8, 0)
CLOSES = time(21, 0)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; InvalidInput if there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("unknown time zone; use an IANA name such as "
                           "'America/New_York'") from None


@lru_cache(maxsize=65536)
def number_zones(phone: str) -> tuple[ZoneInfo, ...]:
    """Every zone phonenumbers places ``phone`` in; empty when it does not know."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone must be an E.164 number such as '+15035550100'") from None
    names = pn_timezone.time_zones_for_number(parsed)
    return tuple(zone(n) for n in names if n != pn_timezone.UNKNOWN_TIMEZONE)


#: A North American number: +1 and ten digits.
_NANP = re.compile(r"\+1\d{10}")
#: Trailing digits of a North American number that never change its zones. phonenumbers
#: decides the line type with patterns that, for every +1 region, end in at least three free
#: digits, and its zone table keys +1 numbers on at most six national digits (a test checks
#: both against the installed data), so the zones are a function of the first seven.
NANP_FREE_DIGITS = 3


@lru_cache(maxsize=65536)
def _nanp_prefix_zones(prefix: str) -> tuple[ZoneInfo, ...]:
    return number_zones(prefix + "0" * NANP_FREE_DIGITS)


def zones_for(timezone: str | None, phone: str) -> tuple[ZoneInfo, ...]:
    """The patient's zone when on record, else the number's zones (for a North American
    number memoised per exchange: a campaign's numbers share a few thousand of them, and
    parsing a number for its zones costs more than the rest of the policy)."""
    if timezone is not None:
        return (zone(timezone),)
    if _NANP.fullmatch(phone):
        return _nanp_prefix_zones(phone[:-NANP_FREE_DIGITS])
    return number_zones(phone)


def open_in(at: datetime, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz).time()
    return OPENS <= local < CLOSES


def within_hours(at: datetime, zones: Sequence[ZoneInfo]) -> bool:
    """Inside [08:00, 21:00) local in every zone (and there is at least one)."""
    if not zones:
        return False
    return all(open_in(at, tz) for tz in zones)


def next_opening(at: datetime, tz: ZoneInfo) -> datetime:
    """The earliest instant >= ``at`` that is inside the window in ``tz`` (UTC).

    The local 08:00 is built with ``fold=0``: on a day whose 08:00 falls in a DST gap this
    maps to the transition instant (the first instant at or after 08:00 local), and on a day
    whose 08:00 happens twice it is the first of the two.
    """
    if open_in(at, tz):
        return at
    local = at.astimezone(tz)
    day = local.date()
    if local.time() >= CLOSES:
        day += timedelta(days=1)
    candidate = datetime.combine(day, OPENS, tzinfo=tz).astimezone(UTC)
    if candidate < at:  # only in a zone whose clock jumps past a whole day: try the next one
        candidate = datetime.combine(day + timedelta(days=1), OPENS, tzinfo=tz).astimezone(UTC)
    return candidate
