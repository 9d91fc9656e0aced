"""One contact a day (patient's local calendar day), three in any 7 x 24 hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.policy.factories import LA, NOW, NY, VOICE, request, sent

from carecall.policy import decide
from carecall.policy.model import Channel, PastContact

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _decide(now: datetime, history: tuple[PastContact, ...], tz: str = LA,
            **kwargs: object) -> tuple[tuple[str, ...], datetime | None]:
    decision = decide(request(now=now, history=history, contact={"timezone": tz}, **kwargs))  # type: ignore[arg-type]
    return decision.codes, decision.retry_after


def test_local_midnight_not_utc_midnight_starts_the_day() -> None:
    # 2026-12-01 17:00 in Los Angeles is 01:00 UTC on the 2nd; 10:00 on the 2nd is a new day
    # locally although the same UTC day
    evening = (sent(_utc(2026, 12, 2, 1, 0)),)
    assert _decide(_utc(2026, 12, 2, 18, 0), evening)[0] == ()
    # 08:00 on the 1st (16:00 UTC) and 20:00 on the 1st (04:00 UTC on the 2nd): different UTC
    # days, the same local day
    morning = (sent(_utc(2026, 12, 1, 16, 0)),)
    assert _decide(_utc(2026, 12, 2, 4, 0), morning) == (
        ("DAILY_LIMIT",), _utc(2026, 12, 2, 16, 0))  # next local day, at 08:00


def test_daily_limit_counts_calls_and_texts_of_any_purpose() -> None:
    history = (PastContact(Channel.VOICE, NOW - timedelta(hours=1), "lab_results"),)
    assert _decide(NOW, history)[0] == ("DAILY_LIMIT",)
    assert _decide(NOW, history, message=VOICE)[0] == ("DAILY_LIMIT",)


def test_daily_limit_retry_waits_for_the_next_days_opening() -> None:
    # in New York the next day begins at 05:00 UTC (midnight EST), but hours only open at
    # 08:00 EST (13:00 UTC): retry_after satisfies both together
    history = (sent(_utc(2026, 12, 1, 14, 0)),)
    assert _decide(_utc(2026, 12, 1, 15, 0), history, tz=NY) == (
        ("DAILY_LIMIT",), _utc(2026, 12, 2, 13, 0))


def test_daily_limit_on_the_25_hour_day() -> None:
    # 2026-11-01 in New York has 25 hours; a contact at 00:30 EDT (04:30 UTC) still blocks at
    # 20:30 EST (01:30 UTC on the 2nd)
    history = (sent(_utc(2026, 11, 1, 4, 30)),)
    assert _decide(_utc(2026, 11, 2, 1, 30), history, tz=NY) == (
        ("DAILY_LIMIT",), _utc(2026, 11, 2, 13, 0))


def test_daily_limit_on_the_23_hour_day() -> None:
    # 2026-03-08 in New York has 23 hours: 08:00 EST on the 7th and 08:00 EDT on the 8th are
    # 23 hours apart, and the second is a new local day
    history = (sent(_utc(2026, 3, 7, 13, 0)),)
    assert _decide(_utc(2026, 3, 8, 12, 0), history, tz=NY)[0] == ()
    assert _decide(_utc(2026, 3, 8, 4, 59), history, tz=NY)[0] == (
        "OUTSIDE_CALLING_HOURS", "DAILY_LIMIT")


def test_daily_limit_with_two_candidate_zones_needs_a_free_day_in_both() -> None:
    # Idaho number, no zone: a contact at 23:30 MST on the 1st (06:30 UTC on the 2nd) is on
    # the 1st in Los Angeles too (22:30 PST); at 16:00 UTC on the 2nd both days are new
    history = (sent(_utc(2026, 12, 2, 6, 30)),)
    decision = decide(request(now=_utc(2026, 12, 2, 16, 0), history=history,
                              contact={"timezone": None, "phone": "+12083201234"}))
    assert decision.allowed
    # a contact at 07:30 UTC on the 2nd: 00:30 in Boise (the 2nd) but 23:30 in LA (the 1st)
    history = (sent(_utc(2026, 12, 2, 7, 30)),)
    decision = decide(request(now=_utc(2026, 12, 2, 16, 0), history=history,
                              contact={"timezone": None, "phone": "+12083201234"}))
    assert decision.codes == ("DAILY_LIMIT",)
    assert decision.retry_after == _utc(2026, 12, 3, 16, 0)


def _three_before(now: datetime, first: timedelta) -> tuple[PastContact, ...]:
    return (sent(now - first), sent(now - 3 * DAY), sent(now - 2 * DAY))


def test_weekly_window_is_exactly_seven_times_24_hours() -> None:
    # the oldest of three contacts made exactly 168 h ago no longer counts
    assert _decide(NOW, _three_before(NOW, 7 * DAY))[0] == ()
    # one second younger, it does, until exactly 168 h after it was made
    codes, retry = _decide(NOW, _three_before(NOW, 7 * DAY - SECOND))
    assert codes == ("WEEKLY_LIMIT",)
    assert retry == NOW + SECOND
    assert _decide(NOW + SECOND, _three_before(NOW, 7 * DAY - SECOND))[0] == ()


def test_weekly_window_rolls_across_a_dst_change_in_hours_not_days() -> None:
    # contacts at 10:00 EST on 3, 4 and 5 March; on 9 March (after spring-forward) the first
    # drops out at 15:00 UTC on the 10th, i.e. 11:00 EDT, not at 10:00 local
    history = (sent(_utc(2026, 3, 3, 15)), sent(_utc(2026, 3, 4, 15)), sent(_utc(2026, 3, 5, 15)))
    assert _decide(_utc(2026, 3, 9, 14), history, tz=NY) == (
        ("WEEKLY_LIMIT",), _utc(2026, 3, 10, 15))
    assert _decide(_utc(2026, 3, 10, 14, 59, 59), history, tz=NY)[0] == ("WEEKLY_LIMIT",)
    assert _decide(_utc(2026, 3, 10, 15), history, tz=NY)[0] == ()


def test_weekly_limit_waits_for_enough_contacts_to_drop_out() -> None:
    # five contacts (more than any limit allows; e.g. imported history): three must age out
    history = tuple(sent(NOW - timedelta(days=d, hours=1)) for d in (6, 5, 4, 3, 2))
    codes, retry = _decide(NOW, history)
    assert codes == ("WEEKLY_LIMIT",)
    assert retry == NOW - timedelta(days=4, hours=1) + 7 * DAY
    assert _decide(retry, history)[0] == ()  # type: ignore[arg-type]


def test_daily_and_weekly_together_take_the_later_of_the_two() -> None:
    # two contacts earlier this week and one today: tomorrow 08:00 frees the day, but the week
    # frees only when the oldest is 168 h old
    history = (sent(NOW - timedelta(days=6, hours=-3)), sent(NOW - 4 * DAY),
               sent(NOW - timedelta(hours=1)))
    codes, retry = _decide(NOW, history)
    assert codes == ("DAILY_LIMIT", "WEEKLY_LIMIT")
    assert retry == NOW + timedelta(days=1, hours=3)


def test_a_history_entry_after_now_counts_as_made() -> None:
    history = (sent(NOW + timedelta(minutes=2)),)
    assert _decide(NOW, history)[0] == ("DAILY_LIMIT",)


@pytest.mark.parametrize(("daily", "weekly", "history_days", "expected"), [
    (None, None, (), ()),
    (5, None, (0,), ("DAILY_LIMIT",)),          # higher than the FCC's: clamped to 1
    (None, 10, (1, 2, 3), ("WEEKLY_LIMIT",)),   # clamped to 3
    (None, 2, (1, 2), ("WEEKLY_LIMIT",)),       # lower: honoured
    (None, 2, (1,), ()),
    (0, None, (), ("DAILY_LIMIT",)),            # zero: no automated contact at all
    (None, 0, (), ("WEEKLY_LIMIT",)),
])
def test_tenant_limits_lower_never_higher(daily: int | None, weekly: int | None,
                                          history_days: tuple[int, ...],
                                          expected: tuple[str, ...]) -> None:
    history = tuple(sent(NOW - timedelta(days=d, hours=1)) for d in history_days)
    codes, retry = _decide(NOW, history, tenant={"daily_limit": daily, "weekly_limit": weekly})
    assert codes == expected
    if 0 in (daily, weekly):
        assert retry is None  # time alone never clears a limit of zero


def test_limits_do_not_apply_to_calls_placed_by_hand() -> None:
    manual = replace(VOICE, automated=False)
    history = tuple(sent(NOW - timedelta(hours=h)) for h in (1, 2, 3, 4))
    assert _decide(NOW, history, message=manual)[0] == ()
