"""One contact a day, three a week (47 CFR 64.1200(a)(9)(iv), FCC 15-72 para. 147).

- Daily: a contact (call or text, any purpose) already made in the patient's current local
  calendar day blocks another until local midnight. With several candidate zones (no zone on
  record), the day must be free in every one of them.
- Weekly: the contacts made in the last 7 x 24 hours, a rolling window: a contact made at
  ``a`` counts while ``now < a + 168 h``, so at exactly ``a + 168 h`` it no longer does.
- A history entry later than ``now`` (clocks of two workers disagree) counts as made.
- A tenant may set lower limits, never higher: a higher value is clamped to the FCC's
  (``tenants.rules.effective_limits``), a limit of 0 means no automated contact at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from carecall.tenants.rules import effective_limits

WEEK = timedelta(days=7)

__all__ = ["WEEK", "daily_free", "effective_limits", "next_daily_free", "next_weekly_free",
           "weekly_free"]


def _same_local_day(at: datetime, history: Sequence[datetime], tz: ZoneInfo) -> int:
    day = at.astimezone(tz).date()
    return sum(1 for h in history if h.astimezone(tz).date() == day)


def daily_free(at: datetime, history: Sequence[datetime], zones: Sequence[ZoneInfo],
               limit: int) -> bool:
    if limit <= 0:
        return False
    return all(_same_local_day(at, history, tz) < limit for tz in zones)


def next_daily_free(at: datetime, history: Sequence[datetime], zones: Sequence[ZoneInfo],
                    limit: int) -> datetime | None:
    """A lower bound on the next instant >= ``at`` the daily limit passes (exact when it is
    one zone's midnight); None when it never will (limit 0)."""
    if limit <= 0:
        return None
    candidate = at
    for tz in zones:
        if _same_local_day(at, history, tz) >= limit:
            next_day = at.astimezone(tz).date() + timedelta(days=1)
            midnight = datetime.combine(next_day, datetime.min.time(), tzinfo=tz)
            candidate = max(candidate, midnight.astimezone(UTC))
    return candidate


def _in_window(at: datetime, history: Sequence[datetime]) -> list[datetime]:
    start = at - WEEK
    return sorted(h for h in history if h > start)


def weekly_free(at: datetime, history: Sequence[datetime], limit: int) -> bool:
    if limit <= 0:
        return False
    return len(_in_window(at, history)) < limit


def next_weekly_free(at: datetime, history: Sequence[datetime], limit: int) -> datetime | None:
    """The earliest instant >= ``at`` at which fewer than ``limit`` contacts are in the
    window: when the oldest contacts that must drop out have aged 168 h."""
    if limit <= 0:
        return None
    inside = _in_window(at, history)
    excess = len(inside) - limit
    if excess < 0:
        return at
    return max(at, inside[excess] + WEEK)
