"""Pure rules about tenants: is a BAA in force, does it permit a purpose, are settings lawful."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from carecall.core.decision import ALLOW, Decision, deny
from carecall.tenants.model import Baa, Purpose

#: 47 CFR 64.1200(a)(9)(iv): at most one exempt message a day and three a week.
FCC_DAILY_LIMIT = 1
FCC_WEEKLY_LIMIT = 3


class TenantReason(StrEnum):
    NO_ACTIVE_BAA = "NO_ACTIVE_BAA"
    PURPOSE_NOT_PERMITTED = "PURPOSE_NOT_PERMITTED"


def baa_in_force(baa: Baa, on: date) -> bool:
    """A BAA is in force from its effective date to its expiry date, both inclusive."""
    if baa.status != "active":
        return False
    if on < baa.effective_on:
        return False
    return baa.expires_on is None or on <= baa.expires_on


def active_baa(baas: Iterable[Baa], on: date) -> Baa | None:
    """The BAA in force on ``on``; with overlaps, the one that took effect last."""
    in_force = [baa for baa in baas if baa_in_force(baa, on)]
    return max(in_force, key=lambda b: b.effective_on, default=None)


def may_process(baas: Iterable[Baa], on: date, purpose: Purpose | None = None) -> Decision:
    """45 CFR 164.502(e), 164.504(e): a business associate touches a covered entity's PHI
    only under a BAA in force, and only for the purposes it permits."""
    baa = active_baa(baas, on)
    if baa is None:
        return deny(TenantReason.NO_ACTIVE_BAA)
    if purpose is not None and purpose not in baa.permitted_purposes:
        return deny(TenantReason.PURPOSE_NOT_PERMITTED)
    return ALLOW


def effective_limits(daily: int | None, weekly: int | None) -> tuple[int, int]:
    """A tenant may set the contact limits lower than the FCC's, never higher."""
    d = FCC_DAILY_LIMIT if daily is None else max(0, min(daily, FCC_DAILY_LIMIT))
    w = FCC_WEEKLY_LIMIT if weekly is None else max(0, min(weekly, FCC_WEEKLY_LIMIT))
    return d, w
