from __future__ import annotations

import uuid
from datetime import date

import pytest

from carecall.tenants.model import Baa, Purpose
from carecall.tenants.rules import (
    FCC_DAILY_LIMIT,
    FCC_WEEKLY_LIMIT,
    TenantReason,
    active_baa,
    baa_in_force,
    effective_limits,
    may_process,
)

T = uuid.uuid4()


def baa(
    effective: date,
    expires: date | None,
    purposes: frozenset[Purpose] = frozenset(Purpose),
    status: str = "active",
) -> Baa:
    return Baa(
        id=uuid.uuid4(),
        tenant_id=T,
        effective_on=effective,
        expires_on=expires,
        signed_by="Dr. A",
        permitted_purposes=purposes,
        status=status,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 12, 31), False),  # the day before it takes effect
        (date(2026, 1, 1), True),  # first day, inclusive
        (date(2026, 6, 30), True),
        (date(2026, 12, 31), True),  # last day, inclusive
        (date(2027, 1, 1), False),  # the day after it expires
    ],
)
def test_baa_in_force_bounds_are_inclusive(on: date, expected: bool) -> None:
    assert baa_in_force(baa(date(2026, 1, 1), date(2026, 12, 31)), on) is expected


def test_open_ended_and_terminated_baas() -> None:
    assert baa_in_force(baa(date(2026, 1, 1), None), date(2099, 1, 1))
    assert not baa_in_force(baa(date(2026, 1, 1), None, status="terminated"), date(2026, 2, 1))


def test_no_baa_denies_with_reason() -> None:
    decision = may_process([], date(2026, 1, 1))
    assert not decision.allowed
    assert decision.codes == ("NO_ACTIVE_BAA",)


def test_expired_baa_denies() -> None:
    decision = may_process(
        [baa(date(2025, 1, 1), date(2025, 12, 31))], date(2026, 1, 1), Purpose.SCHEDULING
    )
    assert decision.reasons == (TenantReason.NO_ACTIVE_BAA,)


def test_purpose_must_be_permitted() -> None:
    only = frozenset({Purpose.APPOINTMENT_REMINDER})
    baas = [baa(date(2026, 1, 1), None, only)]
    assert may_process(baas, date(2026, 2, 1), Purpose.APPOINTMENT_REMINDER).allowed
    denied = may_process(baas, date(2026, 2, 1), Purpose.BILLING_ENQUIRY)
    assert denied.codes == ("PURPOSE_NOT_PERMITTED",)
    assert may_process(baas, date(2026, 2, 1), None).allowed


def test_latest_effective_baa_wins_when_overlapping() -> None:
    old = baa(date(2025, 1, 1), None, frozenset({Purpose.SCHEDULING}))
    new = baa(date(2026, 1, 1), None, frozenset({Purpose.LAB_RESULTS}))
    assert active_baa([old, new], date(2026, 3, 1)) == new
    assert active_baa([old, new], date(2025, 3, 1)) == old


@pytest.mark.parametrize(
    ("daily", "weekly", "expected"),
    [
        (None, None, (FCC_DAILY_LIMIT, FCC_WEEKLY_LIMIT)),
        (0, 2, (0, 2)),
        (5, 9, (FCC_DAILY_LIMIT, FCC_WEEKLY_LIMIT)),  # never above the FCC's
        (-1, -3, (0, 0)),
    ],
)
def test_tenant_limits_only_stricter(
    daily: int | None, weekly: int | None, expected: tuple[int, int]
) -> None:
    assert effective_limits(daily, weekly) == expected
