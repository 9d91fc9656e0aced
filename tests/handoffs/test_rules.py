"""The pure hand-off rules: who the caller was verified as, queue status, claim and end."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from carecall.access.model import Assignment
from carecall.access.rules import HANDOFF_MAX
from carecall.handoffs.model import HandoffStatus
from carecall.handoffs.rules import expiry, may_claim, may_end, status_of, verified_patient

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ME = uuid.UUID(int=1)
YOU = uuid.UUID(int=2)
P = uuid.UUID(int=3)
OPEN = Assignment(id=uuid.UUID(int=9), tenant_id=uuid.UUID(int=8), call_id=uuid.UUID(int=7),
                  agent_id=ME, patient_id=P, started_at=NOW, expires_at=NOW + HANDOFF_MAX)
RELEASED = replace(OPEN, ended_at=NOW, end_reason="released")
COMPLETED = replace(OPEN, ended_at=NOW, end_reason="completed")


@pytest.mark.parametrize(("events", "patient"), [
    ([], None),
    ([("handoff", {"reason": "requested"})], None),
    ([("identity_verified", {"patient": str(P)}), ("handoff", {})], P),
    ([("identity_verified", {"patient": str(P)}), ("locked_out", {})], None),
    ([("locked_out", {}), ("identity_verified", {"patient": str(P)})], P),
    ([("identity_verified", {})], None),
])
def test_verified_patient(events: list[tuple[str, dict[str, str]]],
                          patient: uuid.UUID | None) -> None:
    assert verified_patient(events) == patient


@pytest.mark.parametrize(("held", "when", "status", "claim"), [
    ((), NOW, HandoffStatus.WAITING, ()),
    ((OPEN,), NOW, HandoffStatus.CLAIMED, ("HANDOFF_CLAIMED",)),
    ((OPEN,), NOW + HANDOFF_MAX, HandoffStatus.WAITING, ()),
    ((RELEASED,), NOW, HandoffStatus.WAITING, ()),
    ((COMPLETED,), NOW, HandoffStatus.DONE, ("HANDOFF_DONE",)),
    ((RELEASED, replace(OPEN, agent_id=YOU)), NOW, HandoffStatus.CLAIMED,
     ("HANDOFF_CLAIMED",)),
])
def test_status_and_claim(held: tuple[Assignment, ...], when: datetime,
                          status: HandoffStatus, claim: tuple[str, ...]) -> None:
    assert status_of(held, when) is status
    assert may_claim(held, when).codes == claim


@pytest.mark.parametrize(("held", "user", "manager", "codes"), [
    ((OPEN,), ME, False, ()),
    ((OPEN,), YOU, False, ("HANDOFF_CLAIMED",)),
    ((OPEN,), YOU, True, ()),
    ((RELEASED,), ME, False, ("HANDOFF_NOT_CLAIMED",)),
    ((COMPLETED,), ME, True, ("HANDOFF_DONE",)),
    ((), ME, True, ("HANDOFF_NOT_CLAIMED",)),
])
def test_may_end(held: tuple[Assignment, ...], user: uuid.UUID, manager: bool,
                 codes: tuple[str, ...]) -> None:
    assert may_end(held, user, manager).codes == codes


def test_an_assignment_lasts_two_hours_at_most() -> None:
    assert expiry(NOW) == NOW + timedelta(hours=2)
