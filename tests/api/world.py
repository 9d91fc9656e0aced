"""A populated API for endpoint tests: two practices, a patient, one user per role."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.access.helpers import SYSTEM, enrol_user, make_tenant

from carecall.access import apikeys, service
from carecall.access.rules import Action, Role
from carecall.api.app import create_api
from carecall.api.deps import CSRF_HEADER, SESSION_COOKIE
from carecall.app import Carecall
from carecall.core.clock import FixedClock
from carecall.patients.model import AppointmentInput, Invoice, PatientInput
from carecall.patients.service import create_patient
from carecall.tenants.model import Purpose
from carecall.tenants.service import add_baa

_counter = itertools.count()


def client_for(api: FastAPI, token: str | None = None, csrf: str | None = None) -> TestClient:
    client = TestClient(api, base_url="https://testserver")
    if token:
        client.cookies.set(SESSION_COOKIE, token)
    if csrf:
        client.headers[CSRF_HEADER] = csrf
    return client


@dataclass
class World:
    app: Carecall
    api: FastAPI
    ids: dict[str, str]
    clients: dict[Role, TestClient] = field(default_factory=dict)


def build_world(app: Carecall, clock: FixedClock) -> World:
    from decimal import Decimal

    api = create_api(app, publish_heads=False, phi_per_minute=100_000,
                     login_per_minute=100_000)
    a = make_tenant(app, "alpha", "+16175550101")
    b = make_tenant(app, "beta", "+16175550102")
    pid = create_patient(app, SYSTEM, a.id, PatientInput(
        first_name="Testa", last_name="Person", dob=date(1980, 5, 17),
        phones=("+16175550142",), invoices=(Invoice("INV-1", Decimal("12.50")),),
        appointments=(AppointmentInput(clock.now(), "Dr Who", "Room 1"),)))
    spare = add_baa(app, SYSTEM, a.id, effective_on=date(2021, 1, 1), expires_on=None,
                    signed_by="Spare", purposes=frozenset({Purpose.SCHEDULING}))
    victim = service.add_user(app, SYSTEM, username="victim", role="agent", tenant_id=a.id)
    key, _ = apikeys.create_key(app, SYSTEM, a.id, "k", frozenset({"patients:read"}))
    ids = {"t": str(a.id), "other": str(b.id), "p": str(pid), "u": str(victim.user.id),
           "k": str(key.id), "b": str(spare.id)}
    world = World(app, api, ids)
    for role in Role:
        user = enrol_user(app, clock, role.value, None if role == Role.PLATFORM_ADMIN else a.id)
        world.clients[role] = client_for(api, user.session.token, user.session.csrf)
    return world


def _n() -> int:
    return next(_counter)


#: Every /api/v1 endpoint that needs a principal: method, path, the action it needs (None:
#: any authenticated principal), and a body. The last two change or end the session.
ENDPOINTS: list[tuple[str, str, Action | None, Any]] = [
    ("GET", "/api/v1/me", None, None),
    ("GET", "/api/v1/roles", None, None),
    ("GET", "/api/v1/tenants", Action.TENANTS_READ, None),
    ("POST", "/api/v1/tenants", Action.TENANTS_CREATE, lambda: {
        "slug": f"new-{_n()}", "display_name": "New", "contact_phone": "+16175550177"}),
    ("GET", "/api/v1/tenants/{t}", Action.TENANTS_READ, None),
    ("POST", "/api/v1/tenants/{t}/baas", Action.BAAS_WRITE, lambda: {
        "effective_on": "2022-01-01", "signed_by": "Someone",
        "purposes": [p.value for p in Purpose]}),
    ("POST", "/api/v1/tenants/{t}/baas/{b}/terminate", Action.BAAS_WRITE, None),
    ("GET", "/api/v1/users", Action.USERS_READ, None),
    ("POST", "/api/v1/users", Action.USERS_WRITE, lambda: {
        "username": f"made-{_n()}", "role": "agent", "tenant_id": "{t}"}),
    ("GET", "/api/v1/users/{u}", Action.USERS_READ, None),
    ("POST", "/api/v1/users/{u}/disable", Action.USERS_WRITE, None),
    ("POST", "/api/v1/users/{u}/reset", Action.USERS_WRITE, None),
    ("POST", "/api/v1/users/{u}/training", Action.TRAINING_WRITE,
     lambda: {"completed_on": "2026-01-01"}),
    ("GET", "/api/v1/tenants/{t}/api-keys", Action.APIKEYS_READ, None),
    ("POST", "/api/v1/tenants/{t}/api-keys", Action.APIKEYS_WRITE,
     lambda: {"name": "sync", "permissions": ["tenants:read"]}),
    ("DELETE", "/api/v1/tenants/{t}/api-keys/{k}", Action.APIKEYS_WRITE, None),
    ("GET", "/api/v1/tenants/{t}/patients?purpose=scheduling&phone=%2B16175550142",
     Action.PATIENTS_SEARCH, None),
    ("POST", "/api/v1/tenants/{t}/patients", Action.PATIENTS_WRITE, lambda: {
        "first_name": "Ann", "last_name": "Other", "dob": "1990-01-02"}),
    ("POST", "/api/v1/tenants/{t}/patients/import", Action.PATIENTS_IMPORT, lambda: {
        "format": "csv", "content": "first_name,last_name,dob\nBea,Smith,1970-03-04\n"}),
    ("GET", "/api/v1/tenants/{t}/patients/{p}?purpose=scheduling", Action.PATIENTS_READ, None),
    ("PUT", "/api/v1/tenants/{t}/patients/{p}", Action.PATIENTS_WRITE, lambda: {
        "first_name": "Testa", "last_name": "Person", "dob": "1980-05-17",
        "phones": ["+16175550142"]}),
    ("POST", "/api/v1/tenants/{t}/patients/{p}/reveal?purpose=scheduling",
     Action.PATIENTS_REVEAL, lambda: {"sections": ["name"], "reason": "patient_on_call"}),
    ("GET", "/api/v1/tenants/{t}/patients/{p}/appointments?purpose=scheduling",
     Action.APPOINTMENTS_READ, None),
    ("POST", "/api/v1/auth/break-glass", Action.BREAK_GLASS,
     lambda: {"reason": "patient_safety", "minutes": 5}),
    ("GET", "/api/v1/tenants/{t}/patients/{p}/consents", Action.CONSENT_READ, None),
    ("POST", "/api/v1/tenants/{t}/patients/{p}/consents", Action.CONSENT_WRITE, lambda: {
        "phone": "+16175550142", "kind": "text_messages", "form": "written",
        "given_at": "2026-01-01T00:00:00Z", "evidence_kind": "e_signature",
        "evidence_ref": "ES-1"}),
    ("POST", "/api/v1/tenants/{t}/consents/{p}/revoke", Action.CONSENT_WRITE, None),
    ("POST", "/api/v1/tenants/{t}/opt-outs", Action.CONSENT_WRITE,
     lambda: {"phone": "+16175550142", "channel": "sms"}),
    ("GET", "/api/v1/tenants/{t}/consent-reviews", Action.CONSENT_READ, None),
    ("POST", "/api/v1/tenants/{t}/consent-reviews/{p}/resolve", Action.CONSENT_WRITE,
     lambda: {"revocation": True}),
    ("GET", "/api/v1/tenants/{t}/dnc", Action.DNC_READ, None),
    ("POST", "/api/v1/tenants/{t}/dnc", Action.DNC_WRITE, lambda: {"phone": "+16175550177"}),
    ("POST", "/api/v1/tenants/{t}/dnc/remove", Action.DNC_WRITE,
     lambda: {"phone": "+16175550177"}),
    ("POST", "/api/v1/tenants/{t}/dnc/import", Action.DNC_WRITE,
     lambda: {"content": "+16175550178\n"}),
    ("POST", "/api/v1/tenants/{t}/campaigns", Action.CAMPAIGNS_WRITE, lambda: {
        "purpose": "appointment_reminder", "channel": "sms",
        "template": "{practice}: visit {day} {time}. Reply STOP to opt out.",
        "targets": {"kind": "appointments_ahead", "hours_from": 24, "hours_to": 48}}),
    ("GET", "/api/v1/tenants/{t}/campaigns", Action.CAMPAIGNS_READ, None),
    ("POST", "/api/v1/tenants/{t}/calls", Action.CALLS_SIMULATE, lambda: {}),
    ("POST", "/api/v1/tenants/{t}/calls/{p}/turns", Action.CALLS_SIMULATE,
     lambda: {"text": "hello"}),
    ("GET", "/api/v1/tenants/{t}/campaigns/{p}", Action.CAMPAIGNS_READ, None),
    ("POST", "/api/v1/tenants/{t}/campaigns/{p}/plan", Action.CAMPAIGNS_WRITE, None),
    ("POST", "/api/v1/tenants/{t}/campaigns/{p}/run", Action.CAMPAIGNS_WRITE, None),
    ("POST", "/api/v1/tenants/{t}/campaigns/{p}/pause", Action.CAMPAIGNS_WRITE, None),
    ("POST", "/api/v1/tenants/{t}/campaigns/{p}/resume", Action.CAMPAIGNS_WRITE, None),
    ("POST", "/api/v1/tenants/{t}/campaigns/{p}/cancel", Action.CAMPAIGNS_WRITE, None),
    ("GET", "/api/v1/tenants/{t}/campaigns/{p}/report", Action.CAMPAIGNS_READ, None),
    ("GET", "/api/v1/tenants/{t}/handoffs", Action.HANDOFFS_READ, None),
    ("POST", "/api/v1/tenants/{t}/handoffs/{p}/claim", Action.HANDOFFS_CLAIM, None),
    ("POST", "/api/v1/tenants/{t}/handoffs/{p}/release", Action.HANDOFFS_CLAIM, None),
    ("POST", "/api/v1/tenants/{t}/handoffs/{p}/complete", Action.HANDOFFS_CLAIM, None),
    ("POST", "/api/v1/tenants/{t}/handoffs/{p}/reassign", Action.HANDOFFS_MANAGE,
     lambda: {"agent_id": "{u}"}),
    ("POST", "/api/v1/tenants/{t}/handoffs/{p}/identify", Action.HANDOFFS_CLAIM,
     lambda: {"full_name": "Testa Person", "dob": "1980-05-17"}),
    ("GET", "/api/v1/me/notifications", None, None),
    ("POST", "/api/v1/auth/logout-everywhere", None, None),
]

#: Endpoints about one patient named in the path: a role that holds the action only on a
#: hand-off assignment (rules.ON_ASSIGNMENT) gets "not found" there without one, as for a
#: patient that does not exist; elsewhere such a role is refused outright.
PATIENT_DOORS = {
    "/api/v1/tenants/{t}/patients/{p}?purpose=scheduling",
    "/api/v1/tenants/{t}/patients/{p}/reveal?purpose=scheduling",
    "/api/v1/tenants/{t}/patients/{p}/appointments?purpose=scheduling",
    "/api/v1/tenants/{t}/patients/{p}/consents",
}

#: Endpoints that need no principal (they create one) or end it.
PUBLIC = {"/api/v1/auth/login", "/api/v1/auth/enrol", "/api/v1/auth/mfa/enrol",
          "/api/v1/auth/mfa/verify", "/api/v1/auth/logout"}


def fill(text: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    return text


def body_of(factory: Any, ids: dict[str, str]) -> Any:
    if factory is None:
        return None
    body = factory()
    return {k: fill(v, ids) if isinstance(v, str) else v for k, v in body.items()}


def call(client: TestClient, method: str, path: str, body: Any) -> Any:
    return client.request(method, path, json=body)


def random_ids() -> dict[str, str]:
    return {k: str(uuid.uuid4()) for k in ("t", "other", "p", "u", "k", "b")}
