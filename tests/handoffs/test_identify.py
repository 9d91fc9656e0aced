"""POST .../handoffs/{call_id}/identify on both backends: the human who took a call the AI
handed off unverified names its patient from what the caller states, without learning
anything else about the practice's records."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.access.helpers import enrol_user
from tests.api.world import client_for
from tests.handoffs.helpers import PHI_TEXT, Practice, handed_off_call, make_practice
from tests.handoffs.test_api import NOT_FOUND, OK, _statuses
from tests.patients.factories import SYSTEM, make_patient

from carecall.access.rules import HANDOFF_MAX
from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.calls.rules import Claims
from carecall.core.clock import FixedClock
from carecall.core.errors import InvalidInput
from carecall.handoffs import service
from carecall.handoffs.store import HandoffStore
from carecall.patients.service import import_patients

NAME = "Margaret O'Connell"
DOB = "1982-03-03"
RIGHT = {"full_name": NAME, "dob": DOB}
NOT_CONFIRMED = 422, "IDENTITY_NOT_CONFIRMED"


@pytest.fixture
def practice(carecall: Carecall, clock: FixedClock) -> Practice:
    return make_practice(carecall, clock)


@pytest.fixture
def clients(carecall: Carecall, practice: Practice) -> dict[str, TestClient]:
    api = create_api(carecall, publish_heads=False, phi_per_minute=100_000,
                     login_per_minute=100_000)
    return {name: client_for(api, who.session.token, who.session.csrf)
            for name, who in practice.people.items()}


def _base(practice: Practice) -> str:
    return f"/api/v1/tenants/{practice.tenant.id}/handoffs"


def _claimed(carecall: Carecall, practice: Practice, client: TestClient) -> uuid.UUID:
    """An unverified hand-off (the caller asked for a person at once), claimed."""
    call = handed_off_call(carecall, practice, verified=False)
    claimed = client.post(f"{_base(practice)}/{call}/claim")
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["patient_id"] is None
    return call


def _identify(client: TestClient, practice: Practice, call: uuid.UUID,
              body: dict[str, Any]) -> tuple[int, Any]:
    response = client.post(f"{_base(practice)}/{call}/identify", json=body)
    payload = response.json()
    assert not any(p in response.text for p in PHI_TEXT), response.text
    return response.status_code, payload


def _code(result: tuple[int, Any]) -> tuple[int, str]:
    return result[0], result[1].get("code", "ok")


def _audit(app: Carecall, action: str) -> list[bytes]:
    with app.db.transaction() as session:
        return list(session.execute(select(audit_entries.c.body).where(
            audit_entries.c.action == action)).scalars())


def _no_phi_in_audit(app: Carecall) -> None:
    with app.db.transaction() as session:
        bodies = list(session.execute(select(audit_entries.c.body).where(
            audit_entries.c.action.like("handoff.%"))).scalars())
    assert bodies
    for body in bodies:
        assert not any(p.encode() in body for p in PHI_TEXT), body


def test_identify_opens_the_patient_of_an_unverified_call(
        carecall: Carecall, practice: Practice, clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    call = _claimed(carecall, practice, ann)
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND

    status, body = _identify(ann, practice, call, RIGHT)
    assert status == 200, body
    assert body["patient_id"] == str(practice.patient)
    assert (body["identifiers"], body["billing_verified"]) == (["name", "dob"], False)
    assert body["agent_id"] == str(practice.people["ann"].user_id)
    assert _statuses(ann, practice, practice.patient) == OK
    assert _statuses(ann, practice, practice.other_patient) == NOT_FOUND
    assert _statuses(clients["bob"], practice, practice.patient) == NOT_FOUND
    shown = ann.post(f"/api/v1/tenants/{practice.tenant.id}/patients/{practice.patient}"
                     "/reveal?purpose=scheduling",
                     json={"sections": ["name"], "reason": "patient_on_call"})
    assert shown.json()["first_name"] == "Margaret"

    # Once named, the claim's patient does not change; a second attempt is refused.
    assert _code(_identify(ann, practice, call, RIGHT)) == (409, "HANDOFF_IDENTIFIED")
    assert ann.post(f"{_base(practice)}/{call}/release").status_code == 200
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND

    [entry] = _audit(carecall, "handoff.identified")
    assert str(practice.patient).encode() in entry
    # The look-up was the patient service's blind-index search by date of birth, run for
    # this user (whose role may not search) and audited by the patient service.
    [search] = _audit(carecall, "patient.search")
    assert f'system:handoff-identify:{practice.people["ann"].user_id}'.encode() in search
    assert b'"by":["dob"]' in search
    assert str(call).encode() in entry
    _no_phi_in_audit(carecall)


def test_a_billing_identifier_is_checked_too(carecall: Carecall, practice: Practice,
                                             clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    wrong = _identify(ann, practice, _claimed(carecall, practice, ann),
                      RIGHT | {"invoice": "INV-99999"})
    assert _code(wrong) == NOT_CONFIRMED
    status, body = _identify(ann, practice, _claimed(carecall, practice, ann),
                             RIGHT | {"invoice": "INV-20931", "phone": "(617) 555-0142"})
    assert status == 200, body
    assert (body["identifiers"], body["billing_verified"]) == (["name", "dob", "phone"], True)


def test_a_wrong_detail_is_never_named(carecall: Carecall, practice: Practice,
                                       clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    wrong_dob = _identify(ann, practice, _claimed(carecall, practice, ann),
                          RIGHT | {"dob": "1982-03-04"})
    wrong_name = _identify(ann, practice, _claimed(carecall, practice, ann),
                           RIGHT | {"full_name": "Margaret Smith"})
    nobody = _identify(ann, practice, _claimed(carecall, practice, ann),
                       {"full_name": "Nobody Known", "dob": "1901-01-01"})
    assert _code(wrong_dob) == NOT_CONFIRMED
    # The same answer, word for word, whichever detail was wrong or whether anyone matched.
    assert wrong_dob == wrong_name == nobody
    assert "birth" not in wrong_dob[1]["message"]
    assert _audit(carecall, "handoff.identified") == []
    assert len(_audit(carecall, "handoff.identify_failed")) == 3
    _no_phi_in_audit(carecall)


def test_one_identifier_is_not_enough(carecall: Carecall, practice: Practice,
                                      clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    call = _claimed(carecall, practice, ann)
    for body in ({"dob": DOB}, {"full_name": NAME}, {"full_name": "Margaret", "dob": DOB},
                 RIGHT | {"phone": "not a phone"}, RIGHT | {"surname": "x"}):
        assert _code(_identify(ann, practice, call, body)) == (422, "INVALID_INPUT"), body
    # Malformed requests are not attempts: nothing was looked up or counted.
    with carecall.db.transaction() as session:
        assert HandoffStore(session).identify_failures(
            call, practice.people["ann"].user_id) == 0
    assert _audit(carecall, "patient.search") == []
    # The right date of birth with someone else's name: one identifier matches, not two.
    assert _code(_identify(ann, practice, call, RIGHT | {"full_name": "Peter Quinn"})) == (
        NOT_CONFIRMED)
    with pytest.raises(InvalidInput) as missing:
        service.identify(carecall, practice.principal(carecall, "ann"), practice.tenant.id,
                         call, Claims(dob=date(1982, 3, 3)))
    assert missing.value.code == "IDENTIFIERS_MISSING"


def test_namesakes_are_told_apart(carecall: Carecall, practice: Practice,
                                  clients: dict[str, TestClient]) -> None:
    younger, twin = import_patients(carecall, SYSTEM, practice.tenant.id, [
        make_patient(dob=date(1990, 7, 12), phone="+16175550166"),
        make_patient(phone="+16175550155")], source="test")
    ann = clients["ann"]
    by_dob = _identify(ann, practice, _claimed(carecall, practice, ann),
                       RIGHT | {"dob": "1990-07-12"})
    assert (by_dob[0], by_dob[1]["patient_id"]) == (200, str(younger))
    # Same name, same day: name and date of birth alone match two records.
    assert _code(_identify(ann, practice, _claimed(carecall, practice, ann), RIGHT)) == (
        NOT_CONFIRMED)
    by_phone = _identify(ann, practice, _claimed(carecall, practice, ann),
                         RIGHT | {"phone": "+1 617 555 0155"})
    assert (by_phone[0], by_phone[1]["patient_id"]) == (200, str(twin))


def test_three_failures_lock_the_call(carecall: Carecall, practice: Practice,
                                      clients: dict[str, TestClient]) -> None:
    ann, sue = clients["ann"], clients["sue"]
    call = _claimed(carecall, practice, ann)
    for _ in range(3):
        assert _code(_identify(ann, practice, call, RIGHT | {"dob": "1970-01-01"})) == (
            NOT_CONFIRMED)
    # Even the right details no longer help, and releasing and claiming again buys nothing.
    assert _code(_identify(ann, practice, call, RIGHT)) == (423, "IDENTIFY_LOCKED")
    assert ann.post(f"{_base(practice)}/{call}/release").status_code == 200
    assert ann.post(f"{_base(practice)}/{call}/claim").status_code == 201
    assert _code(_identify(ann, practice, call, RIGHT)) == (423, "IDENTIFY_LOCKED")
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND
    assert len(_audit(carecall, "handoff.identify_failed")) == 3
    assert len(_audit(carecall, "handoff.identify_locked")) == 1
    assert len(_audit(carecall, "handoff.identify_refused")) == 2
    # A supervisor gives the call to a colleague, who may try on their own claim.
    bob = str(practice.people["bob"].user_id)
    assert sue.post(f"{_base(practice)}/{call}/reassign", json={"agent_id": bob}
                    ).status_code == 201
    status, body = _identify(clients["bob"], practice, call, RIGHT)
    assert (status, body["patient_id"]) == (200, str(practice.patient))
    _no_phi_in_audit(carecall)


def test_five_misses_lock_the_record_for_a_day(carecall: Carecall, clock: FixedClock,
                                               practice: Practice,
                                               clients: dict[str, TestClient]) -> None:
    """The AI's per-record rule: misses aimed at one record (here through its phone) count
    against it across calls; at five in 24 hours it can no longer be identified."""
    ann, bob = clients["ann"], clients["bob"]
    aimed = RIGHT | {"dob": "1970-01-01", "phone": "+16175550142"}
    for client, tries in ((ann, 3), (bob, 2)):
        call = _claimed(carecall, practice, client)
        for _ in range(tries):
            assert _code(_identify(client, practice, call, aimed)) == NOT_CONFIRMED
    assert len(_audit(carecall, "handoff.record_locked")) == 1
    assert _code(_identify(bob, practice, _claimed(carecall, practice, bob), RIGHT)) == (
        NOT_CONFIRMED)


def test_only_the_holder_of_an_open_claim_identifies(
        carecall: Carecall, practice: Practice, clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    call = handed_off_call(carecall, practice, verified=False)
    assert _code(_identify(ann, practice, call, RIGHT)) == (409, "HANDOFF_NOT_CLAIMED")
    assert ann.post(f"{_base(practice)}/{call}/claim").status_code == 201
    for other in ("bob", "sue"):
        assert _code(_identify(clients[other], practice, call, RIGHT)) == (
            409, "HANDOFF_CLAIMED")
    for other in ("pat", "ada"):
        assert _code(_identify(clients[other], practice, call, RIGHT)) == (
            403, "PERMISSION_DENIED")
    assert _code(_identify(ann, practice, uuid.uuid4(), RIGHT)) == (404, "NOT_FOUND")
    # A call the AI verified already names its patient.
    verified = handed_off_call(carecall, practice, verified=True)
    assert ann.post(f"{_base(practice)}/{verified}/claim").status_code == 201
    assert _code(_identify(ann, practice, verified, RIGHT)) == (409, "HANDOFF_IDENTIFIED")
    assert ann.post(f"{_base(practice)}/{call}/complete").status_code == 200
    assert _code(_identify(ann, practice, call, RIGHT)) == (409, "HANDOFF_DONE")
    assert _audit(carecall, "handoff.identified") == []


def test_an_expired_claim_identifies_no_one(carecall: Carecall, clock: FixedClock,
                                            practice: Practice,
                                            clients: dict[str, TestClient]) -> None:
    ann = clients["ann"]
    call = _claimed(carecall, practice, ann)
    # Keep the sessions alive (15-minute idle logoff) while two hours pass.
    for _ in range(12):
        clock.advance(HANDOFF_MAX / 12)
        assert ann.get("/api/v1/me").status_code == 200
    assert _code(_identify(ann, practice, call, RIGHT)) == (409, "HANDOFF_CLAIM_EXPIRED")
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND


def test_other_tenants_calls_are_not_found(carecall: Carecall, clock: FixedClock,
                                           practice: Practice,
                                           clients: dict[str, TestClient]) -> None:
    call = _claimed(carecall, practice, clients["ann"])
    other = make_practice(carecall, clock, "hillside", number="+16175550188")
    for tenant in (other.tenant.id, uuid.uuid4()):
        response = clients["ann"].post(f"/api/v1/tenants/{tenant}/handoffs/{call}/identify",
                                       json=RIGHT)
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
    # Nor does the other practice's agent reach this call through its own tenant.
    api = create_api(carecall, publish_heads=False)
    theirs = other.people["ann"]
    outsider = client_for(api, theirs.session.token, theirs.session.csrf)
    response = outsider.post(f"/api/v1/tenants/{other.tenant.id}/handoffs/{call}/identify",
                             json=RIGHT)
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")


def test_identify_needs_current_training(carecall: Carecall, clock: FixedClock,
                                         practice: Practice) -> None:
    lapsed = enrol_user(carecall, clock, "agent", practice.tenant.id, username="lapsed",
                        trained=False)
    client = client_for(create_api(carecall, publish_heads=False), lapsed.session.token,
                        lapsed.session.csrf)
    call = _claimed(carecall, practice, client)
    assert _code(_identify(client, practice, call, RIGHT)) == (403, "TRAINING_EXPIRED")
    assert _audit(carecall, "patient.search") == []
