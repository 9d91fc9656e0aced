"""The hand-off endpoints and an agent's patient endpoints over HTTP, on both backends;
and GET /api/v1/me/notifications (a privacy officer reads the break-glass notices)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.api.world import client_for
from tests.handoffs.helpers import PHI_TEXT, Practice, handed_off_call, make_practice

from carecall.access.rules import HANDOFF_MAX
from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.core.clock import FixedClock


@pytest.fixture
def practice(carecall: Carecall, clock: FixedClock) -> Practice:
    return make_practice(carecall, clock)


@pytest.fixture
def clients(carecall: Carecall, practice: Practice) -> dict[str, TestClient]:
    api = create_api(carecall, publish_heads=False, phi_per_minute=100_000,
                     login_per_minute=100_000)
    return {name: client_for(api, who.session.token, who.session.csrf)
            for name, who in practice.people.items()}


def _patient_doors(practice: Practice, patient: object) -> list[tuple[str, str, object]]:
    base = f"/api/v1/tenants/{practice.tenant.id}/patients/{patient}"
    return [
        ("GET", f"{base}?purpose=scheduling", None),
        ("POST", f"{base}/reveal?purpose=scheduling",
         {"sections": ["name"], "reason": "patient_on_call"}),
        ("GET", f"{base}/appointments?purpose=scheduling", None),
        ("GET", f"{base}/consents", None),
    ]


def _statuses(client: TestClient, practice: Practice, patient: object) -> set[tuple[int, str]]:
    out = set()
    for method, path, body in _patient_doors(practice, patient):
        response = client.request(method, path, json=body)
        out.add((response.status_code, response.json()["code"]
                 if response.status_code >= 400 else "ok"))
    return out


NOT_FOUND = {(404, "NOT_FOUND")}
OK = {(200, "ok")}


def test_claim_opens_the_patient_until_release(carecall: Carecall, practice: Practice,
                                              clients: dict[str, TestClient]) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    ann, bob = clients["ann"], clients["bob"]
    base = f"/api/v1/tenants/{practice.tenant.id}/handoffs"
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND
    search = ann.get(f"/api/v1/tenants/{practice.tenant.id}/patients",
                     params={"purpose": "scheduling", "phone": "+16175550142"})
    assert (search.status_code, search.json()["code"]) == (403, "PERMISSION_DENIED")

    queue = ann.get(base)
    assert queue.status_code == 200
    assert [(i["call_id"], i["verified"], i["status"], i["reason"], i["channel"])
            for i in queue.json()] == [(str(call), True, "waiting", "requested", "voice")]
    assert not any(p in queue.text for p in PHI_TEXT)
    assert str(practice.patient) not in queue.text

    claimed = ann.post(f"{base}/{call}/claim")
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["patient_id"] == str(practice.patient)
    assert _statuses(ann, practice, practice.patient) == OK
    assert _statuses(ann, practice, practice.other_patient) == NOT_FOUND
    assert _statuses(bob, practice, practice.patient) == NOT_FOUND
    shown = ann.post(_patient_doors(practice, practice.patient)[1][1],
                     json={"sections": ["name"], "reason": "patient_on_call"})
    assert shown.json()["first_name"] == "Margaret"

    double = bob.post(f"{base}/{call}/claim")
    assert (double.status_code, double.json()["code"]) == (409, "HANDOFF_CLAIMED")
    held = clients["sue"].get(base, params={"status": "claimed"}).json()
    assert [(i["call_id"], i["held"]["agent_id"]) for i in held] == [
        (str(call), str(practice.people["ann"].user_id))]

    released = ann.post(f"{base}/{call}/release")
    assert released.status_code == 200
    assert released.json()["end_reason"] == "released"
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND
    again = ann.post(f"{base}/{call}/release")
    assert (again.status_code, again.json()["code"]) == (409, "HANDOFF_NOT_CLAIMED")


def test_expiry_closes_the_patient_again(carecall: Carecall, clock: FixedClock,
                                         practice: Practice,
                                         clients: dict[str, TestClient]) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    ann = clients["ann"]
    base = f"/api/v1/tenants/{practice.tenant.id}/handoffs"
    assert ann.post(f"{base}/{call}/claim").status_code == 201
    assert _statuses(ann, practice, practice.patient) == OK
    # Keep the sessions alive (15-minute idle logoff) while two hours pass.
    for _ in range(12):
        clock.advance(HANDOFF_MAX / 12)
        for client in clients.values():
            assert client.get("/api/v1/me").status_code == 200
    assert _statuses(ann, practice, practice.patient) == NOT_FOUND
    taken = clients["bob"].post(f"{base}/{call}/claim")
    assert taken.status_code == 201
    done = clients["bob"].post(f"{base}/{call}/complete")
    assert done.json()["end_reason"] == "completed"
    closed = ann.post(f"{base}/{call}/claim")
    assert (closed.status_code, closed.json()["code"]) == (409, "HANDOFF_DONE")
    assert ann.get(base).json() == []
    assert len(ann.get(base, params={"status": "all"}).json()) == 1


def test_supervisor_reassigns_over_http(carecall: Carecall, practice: Practice,
                                        clients: dict[str, TestClient]) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    base = f"/api/v1/tenants/{practice.tenant.id}/handoffs"
    assert clients["ann"].post(f"{base}/{call}/claim").status_code == 201
    bob = str(practice.people["bob"].user_id)
    denied = clients["ann"].post(f"{base}/{call}/reassign", json={"agent_id": bob})
    assert (denied.status_code, denied.json()["code"]) == (403, "PERMISSION_DENIED")
    moved = clients["sue"].post(f"{base}/{call}/reassign", json={"agent_id": bob})
    assert moved.status_code == 201
    assert moved.json()["agent_id"] == bob
    assert _statuses(clients["ann"], practice, practice.patient) == NOT_FOUND
    assert _statuses(clients["bob"], practice, practice.patient) == OK
    bad = clients["sue"].post(f"{base}/{call}/reassign", json={"agent_id": "nope"})
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_INPUT")


def test_other_tenant_ids_are_not_found(carecall: Carecall, clock: FixedClock,
                                        practice: Practice,
                                        clients: dict[str, TestClient]) -> None:
    call = handed_off_call(carecall, practice, verified=True)
    other = make_practice(carecall, clock, "hillside", number="+16175550188")
    api_client = clients["ann"]
    for path in (f"/api/v1/tenants/{other.tenant.id}/handoffs/{call}/claim",
                 f"/api/v1/tenants/{other.tenant.id}/handoffs/{call}/release"):
        response = api_client.post(path)
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
    listing = api_client.get(f"/api/v1/tenants/{other.tenant.id}/handoffs")
    assert listing.status_code == 404


def test_privacy_officers_read_break_glass_notices(carecall: Carecall, practice: Practice,
                                                   clients: dict[str, TestClient]) -> None:
    pat, ann = clients["pat"], clients["ann"]
    assert pat.get("/api/v1/me/notifications").json() == []
    glass = ann.post("/api/v1/auth/break-glass",
                     json={"reason": "patient_safety", "minutes": 5})
    assert glass.status_code == 200, glass.text
    notes = pat.get("/api/v1/me/notifications")
    assert notes.status_code == 200
    assert [(n["kind"], n["resource_type"], n["resource_id"]) for n in notes.json()] == [
        ("break_glass", "user", str(practice.people["ann"].user_id))]
    # Each user sees only their own.
    assert ann.get("/api/v1/me/notifications").json() == []
    assert clients["sue"].get("/api/v1/me/notifications").json() == []
    # The elevation itself opens the patient's record (the audited escape hatch); consent
    # is not part of break-glass, so it stays behind the assignment.
    doors = _patient_doors(practice, practice.patient)
    assert [ann.request(m, p, json=b).status_code for m, p, b in doors] == [200, 200, 200, 404]
