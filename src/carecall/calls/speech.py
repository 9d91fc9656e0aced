"""How the agent says times, dates, amounts and numbers (for text-to-speech and the guard).

The guard matches a non-verified patient's facts in the same spoken forms, so the engine and
the guard must share these functions.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo


def say_when(at: datetime, timezone: str) -> str:
    """"Thursday, December 3 at 10:00 AM" in the practice's time zone."""
    local = at.astimezone(ZoneInfo(timezone))
    hour = local.strftime("%I").lstrip("0")
    return f"{local.strftime('%A, %B')} {local.day} at {hour}:{local.strftime('%M %p')}"


def say_date(day: date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def say_money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def say_phone(e164: str) -> str:
    """"617-555-0100" for a US number (TTS reads the groups naturally)."""
    digits = "".join(c for c in e164 if c.isdigit())[-10:]
    if len(digits) != 10:
        return e164
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
