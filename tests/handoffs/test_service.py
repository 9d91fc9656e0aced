"""Hand-off assignments on both backends: the queue without PHI, claims, release, expiry,
completion, reassignment, and an agent's reach to exactly the patient of its call."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tests.handoffs.helpers import Practice, handed_off_call, make_practice

from carecall.access import views
from carecall.access.model import Assignment
from carecall.access.rules import HANDOFF_MAX, RevealReason, Section
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.consent import service as consent
from carecall.core.clock import FixedClock
from carecall.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from carecall.handoffs import service
from carecall.handoffs.model import HandoffStatus
from carecall.handoffs.store import HandoffStore
from carecall.tenants.model import Purpose

PHI = [b"Margaret", b"Connell", b"Kowalski", b"1982", b"6175550142", b"Elm Street",
       b"Dr. Chen", b"MRN-100200"]


def _audit(app: Carecall, action: str) -> list[bytes]:
    with app.db.transaction() as session:
        return list(session.execute(select(audit_entries.c.body).where(
            audit_entries.c.action == action)).scalars())


def _reaches(app: Carecall, practice: Practice, name: str, patient: uuid.UUID) -> bool:
    """Can this user read, reveal and list the appointments of the patient? All or none."""
    who = practice.principal(app, name)
    tid = practice.tenant.id
    results = []
    for attempt in (
        lambda: views.read(app, who, tid, patient, Purpose.SCHEDULING),
        lambda: views.reveal(app, who, tid, patient, Purpose.SCHEDULING,
                             frozenset({Section.NAME}), RevealReason.PATIENT_ON_CALL),
        lambda: views.appointments(app, who, tid, patient, Purpose.SCHEDULING),
        lambda: consent.list_consents(app, who, tid, patient),
    ):
        try:
            attempt()
            results.append(True)
        except NotFound:
            results.append(False)
    assert len(set(results)) == 1, results
    return results[0]


@pytest.fixture
def practice(carecall: Carecall, clock: FixedClock) -> Practice:
    return make_practice(carecall, clock)


def test_queue_lists_handed_off_calls_without_phi(carecall: Carecall,
                                                  practice: Practice) -> None:
    verified = handed_off_call(carecall, practice, verified=True)
    unverified = handed_off_call(carecall, practice, verified=False)
    for name in ("ann", "sue"):
        items = service.queue(carecall, practice.principal(carecall, name), practice.tenant.id)
        by_id = {i.call_id: i for i in items}
        assert set(by_id) == {verified, unverified}
        assert by_id[verified].verified
        assert not by_id[unverified].verified
        assert {i.reason for i in items} == {"requested"}
        assert {i.channel for i in items} == {"voice"}
        assert {i.status for i in items} == {HandoffStatus.WAITING}
        assert all(i.assignment is None for i in items)
        assert not any(p.decode() in repr(items) for p in PHI)
    for name in ("pat", "ada"):
        with pytest.raises(PermissionDenied):
            service.queue(carecall, practice.principal(carecall, name), practice.tenant.id)
    assert len(_audit(carecall, "handoff.list")) == 2


def test_an_agent_reaches_only_the_patient_of_its_call_while_it_lasts(
        carecall: Carecall, clock: FixedClock, practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    assert not _reaches(carecall, practice, "ann", practice.patient)
    with pytest.raises(PermissionDenied):
        views.search(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                     Purpose.SCHEDULING, phone="+16175550142")

    held = service.claim(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                         call)
    assert held.patient_id == practice.patient
    assert held.expires_at - held.started_at == HANDOFF_MAX
    assert _reaches(carecall, practice, "ann", practice.patient)
    assert not _reaches(carecall, practice, "ann", practice.other_patient)
    assert not _reaches(carecall, practice, "bob", practice.patient)
    shown = views.reveal(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                         practice.patient, Purpose.SCHEDULING, frozenset({Section.NAME}),
                         RevealReason.PATIENT_ON_CALL)
    assert shown["first_name"] == "Margaret"
    # A search stays closed even with an assignment: the call names the patient.
    with pytest.raises(PermissionDenied):
        views.search(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                     Purpose.SCHEDULING, phone="+16175550142")

    service.release(carecall, practice.principal(carecall, "ann"), practice.tenant.id, call)
    assert not _reaches(carecall, practice, "ann", practice.patient)

    service.claim(carecall, practice.principal(carecall, "ann"), practice.tenant.id, call)
    assert _reaches(carecall, practice, "ann", practice.patient)
    clock.advance(HANDOFF_MAX - timedelta(seconds=1))
    assert _reaches(carecall, practice, "ann", practice.patient)
    clock.advance(timedelta(seconds=1))
    assert not _reaches(carecall, practice, "ann", practice.patient)
    denied = _audit(carecall, "access.not_assigned")
    assert denied
    assert any(b"ASSIGNMENT_EXPIRED" in body for body in denied)
    assert any(b"ASSIGNMENT_ENDED" in body for body in denied)


def test_a_claimed_call_cannot_be_claimed_by_another(carecall: Carecall, clock: FixedClock,
                                                     practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    tid = practice.tenant.id
    first = service.claim(carecall, practice.principal(carecall, "ann"), tid, call)
    again = service.claim(carecall, practice.principal(carecall, "ann"), tid, call)
    assert again == first
    with pytest.raises(Conflict) as refused:
        service.claim(carecall, practice.principal(carecall, "bob"), tid, call)
    assert refused.value.code == "HANDOFF_CLAIMED"
    with pytest.raises(Conflict) as refused:
        service.release(carecall, practice.principal(carecall, "bob"), tid, call)
    assert refused.value.code == "HANDOFF_CLAIMED"
    claimed = service.queue(carecall, practice.principal(carecall, "bob"), tid,
                            HandoffStatus.CLAIMED)
    assert [(i.call_id, i.assignment.agent_id if i.assignment else None)
            for i in claimed] == [(call, practice.people["ann"].user_id)]
    assert len(_audit(carecall, "handoff.claim")) == 1
    # Past its expiry the claim no longer holds the call: another agent may take it, and
    # the expired assignment is closed where it ran out.
    clock.advance(HANDOFF_MAX)
    taken = service.claim(carecall, practice.principal(carecall, "bob"), tid, call)
    assert taken.agent_id == practice.people["bob"].user_id
    with carecall.db.transaction() as session:
        held = HandoffStore(session).of_calls([call])[call]
    assert [(a.agent_id, a.end_reason) for a in held] == [
        (practice.people["ann"].user_id, "expired"), (practice.people["bob"].user_id, None)]
    assert held[0].ended_at == first.expires_at


def test_one_open_claim_per_call_is_a_database_constraint(carecall: Carecall,
                                                         practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=False)
    now = carecall.clock.now()

    def assignment(agent: str) -> Assignment:
        return Assignment(id=uuid.uuid4(), tenant_id=practice.tenant.id, call_id=call,
                          agent_id=practice.people[agent].user_id, patient_id=None,
                          started_at=now, expires_at=now + HANDOFF_MAX)

    with carecall.db.transaction() as session:
        HandoffStore(session).insert(assignment("ann"), "test")
    with pytest.raises(IntegrityError), carecall.db.transaction() as session:
        HandoffStore(session).insert(assignment("bob"), "test")


def test_complete_takes_the_call_out_of_the_queue(carecall: Carecall,
                                                  practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    tid = practice.tenant.id
    service.claim(carecall, practice.principal(carecall, "ann"), tid, call)
    done = service.release(carecall, practice.principal(carecall, "ann"), tid, call,
                           completed=True)
    assert done.end_reason == "completed"
    assert done.ended_at is not None
    assert service.queue(carecall, practice.principal(carecall, "ann"), tid) == []
    assert [i.call_id for i in service.queue(carecall, practice.principal(carecall, "ann"),
                                             tid, HandoffStatus.DONE)] == [call]
    for name in ("bob", "ann"):
        with pytest.raises(Conflict) as refused:
            service.claim(carecall, practice.principal(carecall, name), tid, call)
        assert refused.value.code == "HANDOFF_DONE"
    with pytest.raises(Conflict) as refused:
        service.release(carecall, practice.principal(carecall, "ann"), tid, call)
    assert refused.value.code == "HANDOFF_DONE"
    assert not _reaches(carecall, practice, "ann", practice.patient)


def test_a_supervisor_reassigns_and_ends(carecall: Carecall, practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    tid = practice.tenant.id
    sue = practice.principal(carecall, "sue")
    service.claim(carecall, practice.principal(carecall, "ann"), tid, call)
    moved = service.reassign(carecall, sue, tid, call, practice.people["bob"].user_id)
    assert moved.agent_id == practice.people["bob"].user_id
    assert moved.patient_id == practice.patient
    assert not _reaches(carecall, practice, "ann", practice.patient)
    assert _reaches(carecall, practice, "bob", practice.patient)
    with pytest.raises(PermissionDenied):
        service.reassign(carecall, practice.principal(carecall, "ann"), tid, call,
                         practice.people["ann"].user_id)
    with pytest.raises(InvalidInput):
        service.reassign(carecall, sue, tid, call, practice.people["pat"].user_id)
    with pytest.raises(NotFound):
        service.reassign(carecall, sue, tid, call, uuid.uuid4())
    ended = service.release(carecall, sue, tid, call)
    assert ended.agent_id == practice.people["bob"].user_id
    assert ended.end_reason == "released"
    assert not _reaches(carecall, practice, "bob", practice.patient)
    bodies = _audit(carecall, "handoff.reassign") + _audit(carecall, "handoff.released")
    assert len(bodies) == 2
    assert all(p not in body for body in bodies for p in PHI)


def test_an_unverified_call_opens_no_patient(carecall: Carecall, practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=False)
    held = service.claim(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                         call)
    assert held.patient_id is None
    assert not _reaches(carecall, practice, "ann", practice.patient)
    assert not _reaches(carecall, practice, "ann", practice.other_patient)


def test_other_tenants_calls_are_not_found(carecall: Carecall, clock: FixedClock,
                                           practice: Practice) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    other = make_practice(carecall, clock, "hillside", number="+16175550188")
    intruder = other.principal(carecall, "ann")
    for tenant in (practice.tenant.id, other.tenant.id):
        with pytest.raises(NotFound):
            service.claim(carecall, intruder, tenant, call)
        with pytest.raises(NotFound):
            service.release(carecall, intruder, tenant, call)
    with pytest.raises(NotFound):
        service.queue(carecall, intruder, practice.tenant.id)
    assert service.queue(carecall, intruder, other.tenant.id) == []
    with pytest.raises(NotFound):
        service.claim(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                      uuid.uuid4())
    with pytest.raises(NotFound):
        service.reassign(carecall, practice.principal(carecall, "sue"), practice.tenant.id,
                         call, other.people["bob"].user_id)


def test_agent_consent_work_follows_the_assignment(carecall: Carecall,
                                                   practice: Practice) -> None:
    from carecall.consent.model import OptOutSource
    from carecall.policy.model import Channel

    call = handed_off_call(carecall, practice, verified=True)
    tid = practice.tenant.id

    def opt_out(patient: uuid.UUID) -> bool:
        return consent.record_opt_out(
            carecall, practice.principal(carecall, "ann"), tid, channel=Channel.SMS,
            source=OptOutSource.VOICE_AGENT, patient_id=patient).recorded

    with pytest.raises(NotFound):
        opt_out(practice.patient)
    service.claim(carecall, practice.principal(carecall, "ann"), tid, call)
    assert opt_out(practice.patient)
    with pytest.raises(NotFound):
        opt_out(practice.other_patient)
    # Without a patient named (a number alone), an agent is refused outright.
    with pytest.raises(PermissionDenied):
        consent.record_opt_out(carecall, practice.principal(carecall, "ann"), tid,
                               channel=Channel.SMS, source=OptOutSource.VOICE_AGENT,
                               phone="+16175550142")


def test_two_agents_racing_for_a_call_one_wins(carecall: Carecall,
                                               practice: Practice) -> None:
    import threading

    call = handed_off_call(carecall, practice, verified=True)
    who = {name: practice.principal(carecall, name) for name in ("ann", "bob")}
    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def take(name: str) -> None:
        start.wait()
        try:
            service.claim(carecall, who[name], practice.tenant.id, call)
            outcome[name] = "won"
        except Conflict as exc:
            outcome[name] = exc.code

    threads = [threading.Thread(target=take, args=(n,)) for n in who]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcome.values()) == ["HANDOFF_CLAIMED", "won"]
    assert len(_audit(carecall, "handoff.claim")) == 1
