"""The pure hand-off rules: who the caller was verified as, queue status, claim and end."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from carecall.access.model import Assignment
from carecall.access.rules import HANDOFF_MAX
from carecall.calls.rules import Claims, Identity
from carecall.handoffs.model import HandoffStatus
from carecall.handoffs.rules import (
    counts_against_records,
    expiry,
    identify,
    may_claim,
    may_end,
    may_identify,
    stated_enough,
    status_of,
    verified_patient,
)

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


# -- identifying the caller of an unverified hand-off -------------------------------------

UNVERIFIED = replace(OPEN, patient_id=None)


@pytest.mark.parametrize(("held", "user", "failures", "when", "codes"), [
    ((UNVERIFIED,), ME, 0, NOW, ()),
    ((UNVERIFIED,), ME, 2, NOW, ()),
    ((UNVERIFIED,), ME, 3, NOW, ("IDENTIFY_LOCKED",)),
    ((UNVERIFIED,), YOU, 0, NOW, ("HANDOFF_CLAIMED",)),
    ((UNVERIFIED,), YOU, 0, NOW + HANDOFF_MAX, ("HANDOFF_NOT_CLAIMED",)),
    ((UNVERIFIED,), ME, 0, NOW + HANDOFF_MAX, ("HANDOFF_CLAIM_EXPIRED",)),
    ((OPEN,), ME, 0, NOW, ("HANDOFF_IDENTIFIED",)),
    ((replace(UNVERIFIED, ended_at=NOW, end_reason="released"),), ME, 0, NOW,
     ("HANDOFF_NOT_CLAIMED",)),
    ((replace(UNVERIFIED, ended_at=NOW, end_reason="completed"),), ME, 0, NOW,
     ("HANDOFF_DONE",)),
    ((), ME, 0, NOW, ("HANDOFF_NOT_CLAIMED",)),
])
def test_may_identify(held: tuple[Assignment, ...], user: uuid.UUID, failures: int,
                      when: datetime, codes: tuple[str, ...]) -> None:
    assert may_identify(held, user, failures, when).codes == codes


MARGARET = Identity(id=uuid.UUID(int=21), first_name="Margaret", last_name="O'Connell",
                    dob=date(1982, 3, 3), phones=("+16175550142",), zip="02139",
                    street="12 Elm Street", last_visit=date(2026, 10, 1),
                    invoices=("INV-20931",))
#: A namesake born another day, and one born the same day (other phone and ZIP).
YOUNGER = replace(MARGARET, id=uuid.UUID(int=22), dob=date(1990, 7, 12),
                  phones=("+16175550166",))
TWIN = replace(MARGARET, id=uuid.UUID(int=23), phones=("+16175550177",), zip="02140",
               street="4 Oak Road")
NAME = "Margaret O'Connell"


@pytest.mark.parametrize(("claims", "expected"), [
    (Claims(dob=date(1982, 3, 3)), ("IDENTIFIERS_MISSING",)),
    (Claims(name=NAME), ("IDENTIFIERS_MISSING",)),
    (Claims(name=NAME, phone="+16175550142"), ("IDENTIFIERS_MISSING",)),
    (Claims(name=NAME, dob=date(1982, 3, 3)), ()),
    (Claims(dob=date(1982, 3, 3), zip="02139"), ()),
])
def test_stated_enough_needs_dob_and_one_more(claims: Claims,
                                              expected: tuple[str, ...]) -> None:
    assert stated_enough(claims).codes == expected


@pytest.mark.parametrize(("claims", "patient", "identifiers", "codes"), [
    (Claims(name=NAME, dob=date(1982, 3, 3)), MARGARET.id, ("name", "dob"), ()),
    (Claims(name=NAME, dob=date(1990, 7, 12)), YOUNGER.id, ("name", "dob"), ()),
    (Claims(name=NAME, dob=date(1982, 3, 4)), None, (), ("NO_MATCH",)),
    (Claims(name="Margaret Smith", dob=date(1982, 3, 3)), None, (), ("NO_MATCH",)),
    # A stated detail that does not match does not undo two that do (the AI's rule).
    (Claims(name=NAME, dob=date(1982, 3, 3), phone="+16175550177"), MARGARET.id,
     ("name", "dob"), ()),
    (Claims(dob=date(1982, 3, 3), street="twelve elm street"), None, (), ("NO_MATCH",)),
    (Claims(dob=date(1982, 3, 3), street="12 elm st"), MARGARET.id, ("dob", "address"), ()),
])
def test_identify_namesakes_apart_by_dob(claims: Claims, patient: uuid.UUID | None,
                                         identifiers: tuple[str, ...],
                                         codes: tuple[str, ...]) -> None:
    result = identify(claims, [MARGARET, YOUNGER])
    assert result.decision.codes == codes
    assert result.patient_id == patient
    assert result.identifiers == identifiers
    if codes:  # a miss counts against the records it partly matched
        assert counts_against_records(result)
    # With TWIN (same name, same day) name and date of birth alone no longer decide.
    if patient == MARGARET.id and claims.phone is None and identifiers == ("name", "dob"):
        tie = identify(claims, [MARGARET, TWIN])
        assert tie.decision.codes == ("AMBIGUOUS",)
        assert not counts_against_records(tie)
        assert tie.against == ()


def test_identify_ignores_the_twin_when_the_phone_tells_them_apart() -> None:
    result = identify(Claims(name=NAME, dob=date(1982, 3, 3), phone="+16175550177"),
                      [MARGARET, TWIN])
    assert (result.patient_id, result.identifiers) == (TWIN.id, ("name", "dob", "phone"))


def test_identify_refuses_a_locked_record() -> None:
    claims = Claims(name=NAME, dob=date(1982, 3, 3))
    result = identify(claims, [MARGARET], locked=frozenset({MARGARET.id}))
    assert result.decision.codes == ("RECORD_LOCKED",)
    assert result.patient_id is None
    assert not counts_against_records(result)


@pytest.mark.parametrize(("extra", "billing", "codes"), [
    ({}, False, ()),
    ({"last_visit": date(2026, 10, 1)}, True, ()),
    ({"invoice": "inv 20931"}, True, ()),
    ({"invoice": "INV-11111"}, False, ("BILLING_NO_MATCH",)),
    ({"last_visit": date(2026, 9, 30)}, False, ("BILLING_NO_MATCH",)),
])
def test_identify_checks_a_stated_billing_identifier(extra: dict[str, object], billing: bool,
                                                     codes: tuple[str, ...]) -> None:
    claims = Claims(name=NAME, dob=date(1982, 3, 3), **extra)  # type: ignore[arg-type]
    result = identify(claims, [MARGARET, YOUNGER])
    assert result.decision.codes == codes
    assert result.billing_verified is billing
    assert result.identified is (not codes)
    if codes:
        assert result.patient_id is None
        assert result.against == (MARGARET.id,)
        assert counts_against_records(result)
