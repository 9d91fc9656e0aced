"""A practice with two patients, handed-off calls (verified and not) and its people."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tests.access.helpers import Enrolled, enrol_user
from tests.patients.factories import SYSTEM, make_patient, make_tenant

from carecall.access import service as access
from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.calls import service as calls
from carecall.calls.model import CallerInput
from carecall.calls.store import call_sessions
from carecall.core.clock import FixedClock
from carecall.patients.service import import_patients
from carecall.tenants.model import Tenant

CALLER = "+16175550142"
SAY_ID = "Margaret O'Connell, March third nineteen eighty two"
#: What must never show in a queue, an audit entry or an error.
PHI_TEXT = ["Margaret", "Connell", "Kowalski", "1982", "6175550142", "Elm Street",
            "Dr. Chen", "MRN-100200"]


@dataclass
class Practice:
    tenant: Tenant
    patient: uuid.UUID
    other_patient: uuid.UUID
    people: dict[str, Enrolled] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)

    def principal(self, app: Carecall, name: str) -> Principal:
        """The user's principal, authenticated once: the tests move the clock by hours,
        past the session's idle limit, and what they test is the assignment's expiry."""
        if name not in self.principals:
            self.principals[name] = access.authenticate(app, self.people[name].session.token)
        return self.principals[name]


def make_practice(app: Carecall, clock: FixedClock, slug: str = "riverside",
                  number: str = "+16175550199") -> Practice:
    tenant = make_tenant(app, slug, number=number)
    ids = import_patients(app, SYSTEM, tenant.id, [
        make_patient(), make_patient(first="James", last="Kowalski", phone="+16175550177")],
        source="test")
    practice = Practice(tenant, ids[0], ids[1])
    for name, role in (("ann", "agent"), ("bob", "agent"), ("sue", "supervisor"),
                       ("pat", "privacy_officer"), ("ada", "tenant_admin")):
        practice.people[name] = enrol_user(app, clock, role, tenant.id,
                                           username=f"{slug}-{name}")
    return practice


def handed_off_call(app: Carecall, practice: Practice, *, verified: bool) -> uuid.UUID:
    """Run a call through the AI agent to a hand-off; returns the call's id."""
    ref = f"CA{uuid.uuid4().hex}"
    number = practice.tenant.phone_numbers[0]
    calls.start_call(app, tenant_id=practice.tenant.id, direction="inbound",
                     from_number=CALLER, to_number=number, channel_ref=ref)
    said = (["when is my appointment", SAY_ID, "can I talk to a real person"] if verified
            else ["can I talk to a real person"])
    step = None
    for text in said:
        step = calls.take_turn(app, channel_ref=ref, caller_input=CallerInput.speech(text))
    assert step is not None
    assert step.outcome == "handoff", step
    with app.db.transaction() as session:
        found = session.execute(call_sessions.select().where(
            call_sessions.c.channel_ref == ref)).first()
    assert found is not None
    return uuid.UUID(str(found.id))
