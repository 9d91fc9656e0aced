"""The hand-off assignment rule (rules.ON_ASSIGNMENT, rules.on_assignment), walked over
every case: active, expired by the clock, ended, another agent's, another patient, another
tenant, no patient named, and every role x action pair with and without an assignment."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from carecall.access.model import Assignment, Principal
from carecall.access.rules import (
    BREAK_GLASS_ACTIONS,
    HANDOFF_MAX,
    ON_ASSIGNMENT,
    PERMISSIONS,
    PHI_ACTIONS,
    Action,
    Role,
    assignment_active,
    on_assignment,
    permits,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TRAINED = NOW + timedelta(days=100)
TENANT = uuid.UUID(int=1)
OTHER_TENANT = uuid.UUID(int=2)
AGENT_ID = uuid.UUID(int=10)
OTHER_AGENT = uuid.UUID(int=11)
PATIENT = uuid.UUID(int=20)
OTHER_PATIENT = uuid.UUID(int=21)


def _assignment(**kw: object) -> Assignment:
    base = Assignment(id=uuid.UUID(int=30), tenant_id=TENANT, call_id=uuid.UUID(int=40),
                      agent_id=AGENT_ID, patient_id=PATIENT, started_at=NOW - timedelta(
                          minutes=5), expires_at=NOW - timedelta(minutes=5) + HANDOFF_MAX)
    return replace(base, **kw)  # type: ignore[arg-type]


def _user(role: Role = Role.AGENT, **kw: object) -> Principal:
    principal = Principal(kind="user", id=str(AGENT_ID), tenant_id=TENANT,
                          roles=frozenset({role.value}), training_valid_until=TRAINED)
    return replace(principal, **kw)  # type: ignore[arg-type]


ACTIVE = _assignment()

#: (what, assignments, patient named, when, expected codes); () means allowed.
CASES: list[tuple[str, tuple[Assignment, ...], uuid.UUID | None, datetime, tuple[str, ...]]] = [
    ("active", (ACTIVE,), PATIENT, NOW, ()),
    ("active at its first instant", (ACTIVE,), PATIENT, ACTIVE.started_at, ()),
    ("not started yet", (ACTIVE,), PATIENT, ACTIVE.started_at - timedelta(seconds=1),
     ("NOT_ASSIGNED",)),
    ("expired by the clock", (ACTIVE,), PATIENT, ACTIVE.expires_at,
     ("NOT_ASSIGNED", "ASSIGNMENT_EXPIRED")),
    ("ended (released)", (_assignment(ended_at=NOW - timedelta(minutes=1),
                                      end_reason="released"),), PATIENT, NOW,
     ("NOT_ASSIGNED", "ASSIGNMENT_ENDED")),
    ("another agent's", (_assignment(agent_id=OTHER_AGENT),), PATIENT, NOW,
     ("NOT_ASSIGNED",)),
    ("another patient", (ACTIVE,), OTHER_PATIENT, NOW, ("NOT_ASSIGNED",)),
    ("another tenant", (_assignment(tenant_id=OTHER_TENANT),), PATIENT, NOW,
     ("NOT_ASSIGNED",)),
    ("unverified caller", (_assignment(patient_id=None),), PATIENT, NOW, ("NOT_ASSIGNED",)),
    ("no patient named", (ACTIVE,), None, NOW, ("NOT_ASSIGNED",)),
    ("no assignment", (), PATIENT, NOW, ("NOT_ASSIGNED",)),
    ("an old one ended, a new one active",
     (_assignment(ended_at=NOW - timedelta(hours=1), end_reason="completed"), ACTIVE),
     PATIENT, NOW, ()),
]


@pytest.mark.parametrize(("what", "held", "patient", "when", "codes"), CASES,
                         ids=[c[0] for c in CASES])
def test_assignment_rule(what: str, held: tuple[Assignment, ...], patient: uuid.UUID | None,
                         when: datetime, codes: tuple[str, ...]) -> None:
    for role, action in sorted(ON_ASSIGNMENT):
        decision = on_assignment(_user(role), action, patient, held, when)
        assert decision.codes == codes, (what, role, action)
        # permits() applies the same rule through the principal's declared patient.
        through = permits(_user(role, patient_scope=patient, assignments=held), action, when)
        assert through.codes == codes, (what, role, action)


def test_assignment_active_bounds() -> None:
    assert assignment_active(ACTIVE, NOW)
    assert not assignment_active(ACTIVE, ACTIVE.expires_at)
    assert not assignment_active(ACTIVE, ACTIVE.started_at - timedelta(microseconds=1))
    assert not assignment_active(replace(ACTIVE, ended_at=NOW), NOW)


def test_the_assignment_table_is_disjoint_from_the_matrix() -> None:
    assert not ON_ASSIGNMENT & PERMISSIONS
    # Every pair granted on assignment is about one patient's PHI.
    assert all(action in PHI_ACTIONS for _, action in ON_ASSIGNMENT)


def test_agent_rows_are_what_the_issue_says() -> None:
    """Visible diff of the agent's rights: outright only break-glass, do-not-call and the
    queue; patients, appointments and consent only on assignment; never search."""
    outright = {a for r, a in PERMISSIONS if r == Role.AGENT}
    assert outright == {Action.BREAK_GLASS, Action.DNC_WRITE, Action.HANDOFFS_READ,
                        Action.HANDOFFS_CLAIM}
    assert {a for r, a in ON_ASSIGNMENT if r == Role.AGENT} == {
        Action.PATIENTS_READ, Action.PATIENTS_REVEAL, Action.APPOINTMENTS_READ,
        Action.CONSENT_READ, Action.CONSENT_WRITE}


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_an_active_assignment_adds_exactly_the_assignment_table(role: Role,
                                                                action: Action) -> None:
    tenant = None if role == Role.PLATFORM_ADMIN else TENANT
    principal = _user(role, tenant_id=tenant, patient_scope=PATIENT,
                      assignments=(replace(ACTIVE, tenant_id=tenant or TENANT),))
    expected = (role, action) in PERMISSIONS or (role, action) in ON_ASSIGNMENT
    assert permits(principal, action, NOW).allowed == expected


@pytest.mark.parametrize(("role", "action"), sorted(ON_ASSIGNMENT))
def test_assignment_does_not_lift_the_training_gate(role: Role, action: Action) -> None:
    lapsed = _user(role, training_valid_until=NOW, patient_scope=PATIENT,
                   assignments=(ACTIVE,))
    assert permits(lapsed, action, NOW).codes == ("TRAINING_EXPIRED",)


def test_other_principals_get_no_assignment_grant() -> None:
    key = Principal(kind="api_key", id=str(AGENT_ID), tenant_id=TENANT,
                    patient_scope=PATIENT, assignments=(ACTIVE,))
    assert permits(key, Action.PATIENTS_REVEAL, NOW).codes == ("KEY_SCOPE",)
    assert on_assignment(key, Action.PATIENTS_READ, PATIENT, (ACTIVE,), NOW).codes == (
        "NOT_PERMITTED",)
    auditor = _user(Role.AUDITOR, patient_scope=PATIENT, assignments=(ACTIVE,))
    assert permits(auditor, Action.PATIENTS_READ, NOW).codes == ("NOT_PERMITTED",)


def test_break_glass_still_opens_what_it_opened() -> None:
    elevated = _user(elevated_until=NOW + timedelta(minutes=5))
    for action in sorted(BREAK_GLASS_ACTIONS):
        assert permits(elevated, action, NOW), action
        assert permits(elevated, action, NOW + timedelta(minutes=5)).codes[0] in (
            "NOT_ASSIGNED", "NOT_PERMITTED"), action
