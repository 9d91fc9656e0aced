"""Calling hours: [08:00, 21:00) in the patient's local time, DST-aware, every candidate zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.policy.factories import LA, NY, VOICE, request

from carecall.core.errors import InvalidInput
from carecall.policy import decide
from carecall.policy.hours import next_opening, number_zones, within_hours

EASTERN = ZoneInfo(NY)
SECOND = timedelta(seconds=1)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _at(now: datetime, tz: str | None = NY, phone: str = "+12125550123",
        **kwargs: object) -> tuple[tuple[str, ...], datetime | None]:
    decision = decide(request(now=now, contact={"timezone": tz, "phone": phone}, **kwargs))  # type: ignore[arg-type]
    return decision.codes, decision.retry_after


@pytest.mark.parametrize(("local", "open_"), [
    ((7, 59, 59), False),
    ((8, 0, 0), True),    # not "before 8 a.m."
    ((12, 0, 0), True),
    ((20, 59, 59), True),
    ((21, 0, 0), False),  # decided at 21:00:00, it rings after 9 p.m.
    ((23, 30, 0), False),
    ((0, 0, 0), False),
])
def test_window_edges_in_local_time(local: tuple[int, int, int], open_: bool) -> None:
    at = datetime(2026, 12, 1, *local, tzinfo=EASTERN).astimezone(UTC)
    assert within_hours(at, (EASTERN,)) is open_
    codes, _ = _at(at)
    assert (codes == ()) is open_


def test_spring_forward_day() -> None:
    # 2026-03-08: clocks in New York go 02:00 EST -> 03:00 EDT; 08:00 EDT is 12:00 UTC
    assert _at(_utc(2026, 3, 8, 11, 59, 59)) == (("OUTSIDE_CALLING_HOURS",),
                                                  _utc(2026, 3, 8, 12, 0))
    assert _at(_utc(2026, 3, 8, 12, 0))[0] == ()
    # the day before, 08:00 EST was 13:00 UTC: 12:30 UTC was still 07:30
    assert _at(_utc(2026, 3, 7, 12, 30)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 3, 7, 13, 0))
    # from local midnight, across the gap, to the first 08:00 EDT
    assert _at(_utc(2026, 3, 8, 5, 0))[1] == _utc(2026, 3, 8, 12, 0)
    # 21:00 EDT that evening is 01:00 UTC on the 9th
    assert _at(_utc(2026, 3, 9, 0, 59, 59))[0] == ()
    assert _at(_utc(2026, 3, 9, 1, 0)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 3, 9, 12, 0))


def test_fall_back_day() -> None:
    # 2026-11-01: 02:00 EDT -> 01:00 EST; 08:00 EST is 13:00 UTC (12:00 UTC the day before)
    assert _at(_utc(2026, 10, 31, 12, 0))[0] == ()
    assert _at(_utc(2026, 11, 1, 12, 30)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 11, 1, 13))
    # 21:00 EDT on the 31st is 01:00 UTC on the 1st; the next opening is 08:00 EST
    assert _at(_utc(2026, 11, 1, 1, 0)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 11, 1, 13))
    # during the repeated hour (01:30 happens twice) it is closed both times
    assert _at(_utc(2026, 11, 1, 5, 30)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 11, 1, 13))
    assert _at(_utc(2026, 11, 1, 6, 30)) == (("OUTSIDE_CALLING_HOURS",), _utc(2026, 11, 1, 13))
    # 21:00 EST on the 1st is 02:00 UTC on the 2nd
    assert _at(_utc(2026, 11, 2, 1, 59, 59))[0] == ()
    assert _at(_utc(2026, 11, 2, 2, 0))[0] == ("OUTSIDE_CALLING_HOURS",)


def test_next_opening_is_exact_in_zones_with_unusual_transitions() -> None:
    # midnight transitions (Santiago, Beirut), half-hour DST (Lord Howe), a date-line zone
    # (Apia): the next opening is never before ``at``, is open, and a second earlier is not
    for zone_name in ("America/Santiago", "Asia/Beirut", "Pacific/Apia", "Australia/Lord_Howe"):
        tz = ZoneInfo(zone_name)
        start = _utc(2026, 1, 1)
        for hour in range(0, 24 * 366, 7):
            at = start + timedelta(hours=hour)
            opening = next_opening(at, tz)
            assert opening >= at
            assert within_hours(opening, (tz,))
            assert not within_hours(opening - SECOND, (tz,)) or opening == at


def test_the_patient_zone_on_record_wins_over_the_number() -> None:
    at = _utc(2026, 12, 1, 14, 0)  # 09:00 in New York, 06:00 in Los Angeles
    assert _at(at, tz=NY, phone="+13105550123")[0] == ()
    assert _at(at, tz=LA, phone="+12125550123") == (("OUTSIDE_CALLING_HOURS",),
                                                     _utc(2026, 12, 1, 16))


def test_without_a_zone_the_numbers_zone_is_used() -> None:
    at = _utc(2026, 12, 1, 14, 0)
    assert _at(at, tz=None, phone="+12125550123")[0] == ()
    assert _at(at, tz=None, phone="+13105550123") == (("OUTSIDE_CALLING_HOURS",),
                                                       _utc(2026, 12, 1, 16))


def test_a_number_in_two_zones_needs_the_window_in_both() -> None:
    phone = "+12083201234"  # Idaho: Boise (Mountain) or Los Angeles (Pacific)
    assert {z.key for z in number_zones(phone)} == {"America/Boise", "America/Los_Angeles"}
    # 15:30 UTC: 08:30 in Boise but 07:30 in Los Angeles
    assert _at(_utc(2026, 12, 1, 15, 30), tz=None, phone=phone) == (
        ("OUTSIDE_CALLING_HOURS",), _utc(2026, 12, 1, 16))
    assert _at(_utc(2026, 12, 1, 16, 0), tz=None, phone=phone)[0] == ()
    # 03:59 UTC: 20:59 in Los Angeles, 20:59 MST... Boise closes first at 04:00 UTC
    assert _at(_utc(2026, 12, 2, 3, 59), tz=None, phone=phone)[0] == ()
    assert _at(_utc(2026, 12, 2, 4, 0), tz=None, phone=phone) == (
        ("OUTSIDE_CALLING_HOURS",), _utc(2026, 12, 2, 16))


def test_alaska_and_the_aleutians() -> None:
    phone = "+19075551234"  # Anchorage (UTC-9) or Adak (UTC-10) in December
    assert _at(_utc(2026, 12, 1, 17, 30), tz=None, phone=phone) == (
        ("OUTSIDE_CALLING_HOURS",), _utc(2026, 12, 1, 18))


def test_a_number_with_no_known_zone_is_never_in_hours() -> None:
    codes, retry = _at(_utc(2026, 12, 1, 18), tz=None, phone="+447700900123")
    assert codes == ("OUTSIDE_CALLING_HOURS",)
    assert retry is None


def test_a_toll_free_number_needs_the_window_in_all_its_zones() -> None:
    phone = "+18005551234"  # 42 zones, from St John's (UTC-3:30) to Guam (UTC+10)
    zones = number_zones(phone)
    assert len(zones) > 40
    codes, retry = _at(_utc(2026, 12, 1, 18), tz=None, phone=phone)
    assert codes == ("OUTSIDE_CALLING_HOURS",)
    assert retry is not None
    assert within_hours(retry, zones)
    assert not within_hours(retry - SECOND, zones)
    assert _at(retry, tz=None, phone=phone)[0] == ()


def test_hours_apply_to_calls_placed_by_hand() -> None:
    manual = replace(VOICE, automated=False)
    codes, retry = _at(_utc(2026, 12, 1, 12), message=manual)
    assert codes == ("OUTSIDE_CALLING_HOURS",)
    assert retry == _utc(2026, 12, 1, 13)


def test_unknown_zone_and_bad_number_are_input_errors() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        _at(_utc(2026, 12, 1, 18), tz="Mars/Olympus_Mons")
    with pytest.raises(InvalidInput, match=r"E\.164"):
        _at(_utc(2026, 12, 1, 18), tz=None, phone="not a number")


def _top_level_alternatives(pattern: str) -> list[str]:
    out, depth, current = [], 0, ""
    for ch in pattern:
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    return [*out, current]


def test_north_american_zones_depend_on_the_first_seven_digits_only() -> None:
    """``zones_for`` memoises +1 numbers per exchange; this holds only while phonenumbers'
    data keeps every +1 line-type pattern ending in free digits and its zone prefixes short."""
    import re

    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
    from phonenumbers.tzdata import TIMEZONE_DATA

    from carecall.policy.hours import NANP_FREE_DIGITS

    assert max(len(k) for k in TIMEZONE_DATA if k.startswith("1")) <= 1 + 10 - NANP_FREE_DIGITS
    free = re.compile(r"\\d\{(\d+)(?:,\d+)?\}$")
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        meta = PhoneMetadata.metadata_for_region(region)
        for name in ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate",
                     "shared_cost", "personal_number", "voip", "pager", "uan", "voicemail"):
            desc = getattr(meta, name)
            if desc is None or desc.national_number_pattern is None:
                continue
            for alternative in _top_level_alternatives(desc.national_number_pattern):
                found = free.search(alternative)
                assert found, (region, name)
                assert int(found.group(1)) >= NANP_FREE_DIGITS, (region, name)


def test_memoised_zones_equal_a_fresh_parse() -> None:
    import random

    from phonenumbers.tzdata import TIMEZONE_DATA

    from carecall.policy.hours import zones_for

    rng = random.Random(7)
    prefixes = sorted(k for k in TIMEZONE_DATA if k.startswith("1") and len(k) > 1)
    for prefix in prefixes:
        for _ in range(3):
            phone = "+" + prefix + "".join(rng.choice("0123456789")
                                           for _ in range(11 - len(prefix)))
            assert zones_for(None, phone) == number_zones.__wrapped__(phone), phone
