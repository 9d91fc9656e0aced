"""The permission matrix and the pure rules, walked exhaustively."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from carecall.access.model import Principal
from carecall.access.rules import (
    KEY_GRANTABLE,
    PERMISSIONS,
    PHI_ACTIONS,
    PURPOSE_SECTIONS,
    Action,
    Role,
    Section,
    after_failure,
    idle_limit,
    password_acceptable,
    permits,
    session_valid,
    visible_sections,
)
from carecall.tenants.model import Purpose

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TRAINED = NOW + timedelta(days=100)


def _user(role: Role, **kw: object) -> Principal:
    tenant = None if role == Role.PLATFORM_ADMIN else uuid.uuid4()
    return Principal(kind="user", id="u", tenant_id=tenant, roles=frozenset({role.value}),
                     **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_every_role_action_pair_follows_the_table(role: Role, action: Action) -> None:
    decision = permits(_user(role, training_valid_until=TRAINED), action, NOW)
    assert decision.allowed == ((role, action) in PERMISSIONS)


@pytest.mark.parametrize(("role", "action"), sorted(
    (r, a) for r, a in PERMISSIONS if a in PHI_ACTIONS))
def test_phi_actions_need_current_training(role: Role, action: Action) -> None:
    lapsed = permits(_user(role, training_valid_until=NOW), action, NOW)
    never = permits(_user(role), action, NOW)
    assert lapsed.codes == never.codes == ("TRAINING_EXPIRED",)


def test_platform_admin_and_auditor_never_touch_phi() -> None:
    for role in (Role.PLATFORM_ADMIN, Role.AUDITOR):
        assert not any((role, a) in PERMISSIONS for a in PHI_ACTIONS)


@pytest.mark.parametrize("action", list(Action))
def test_api_keys_hold_only_what_they_were_given(action: Action) -> None:
    key = Principal(kind="api_key", id="k", permissions=frozenset({action.value}))
    assert permits(key, action, NOW).allowed == (action in KEY_GRANTABLE)
    other = Principal(kind="api_key", id="k", permissions=frozenset())
    assert not permits(other, action, NOW)


def test_break_glass_adds_reveal_only_while_it_lasts() -> None:
    agent = _user(Role.AGENT, training_valid_until=TRAINED,
                  elevated_until=NOW + timedelta(minutes=5))
    assert permits(agent, Action.PATIENTS_REVEAL, NOW)
    assert not permits(agent, Action.PATIENTS_REVEAL, NOW + timedelta(minutes=5))
    assert not permits(agent, Action.USERS_WRITE, NOW)


def test_minimum_necessary_by_purpose() -> None:
    sup = _user(Role.SUPERVISOR)
    scheduling = visible_sections(sup, Purpose.SCHEDULING, NOW)
    billing = visible_sections(sup, Purpose.BILLING_ENQUIRY, NOW)
    assert Section.APPOINTMENTS in scheduling
    assert Section.BILLING not in scheduling
    assert Section.BILLING in billing
    assert Section.PRESCRIPTIONS not in billing
    assert visible_sections(_user(Role.TENANT_ADMIN), Purpose.BILLING_ENQUIRY, NOW) == (
        PURPOSE_SECTIONS[Purpose.BILLING_ENQUIRY] - {Section.BILLING})
    assert visible_sections(_user(Role.AUDITOR), Purpose.SCHEDULING, NOW) == frozenset()
    assert set(PURPOSE_SECTIONS) == set(Purpose)


@pytest.mark.parametrize(("password", "codes"), [
    ("short", ("PASSWORD_TOO_SHORT",)),
    ("qwerty123456", ("PASSWORD_COMMON",)),
    ("QWERTY123456", ("PASSWORD_COMMON",)),
    ("x" * 300, ("PASSWORD_TOO_LONG",)),
    ("violet harbour tractor", ()),
])
def test_password_policy(password: str, codes: tuple[str, ...]) -> None:
    from carecall.access.passwords import common_passwords

    assert password_acceptable(password, common_passwords()).codes == codes


def test_fifth_failure_locks_for_fifteen_minutes() -> None:
    count, lock = 0, None
    for _ in range(4):
        count, lock = after_failure(count, NOW)
        assert lock is None
    count, lock = after_failure(count, NOW)
    assert (count, lock) == (0, NOW + timedelta(minutes=15))


def test_session_limits() -> None:
    idle = idle_limit(15)
    assert idle_limit(None) == timedelta(minutes=15)
    assert idle_limit(90) == timedelta(minutes=30)
    start = NOW
    ok = session_valid(created_at=start, last_seen_at=start, idle=idle, revoked=False,
                       now=start + timedelta(minutes=14, seconds=59))
    assert ok
    assert session_valid(created_at=start, last_seen_at=start, idle=idle, revoked=False,
                         now=start + timedelta(minutes=15)).codes == ("SESSION_IDLE",)
    assert session_valid(created_at=start, last_seen_at=start + timedelta(hours=12),
                         idle=idle, revoked=False,
                         now=start + timedelta(hours=12)).codes == ("SESSION_ABSOLUTE",)
    assert session_valid(created_at=start, last_seen_at=start, idle=idle, revoked=True,
                         now=start).codes == ("SESSION_REVOKED",)
