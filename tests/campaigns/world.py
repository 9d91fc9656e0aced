"""A small world for campaign tests: the demo practice, written consents, a campaign."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from tests.channels.fake_twilio import FakeTwilio

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.campaigns.model import (
    CampaignSpec,
    Channel,
    RetryRule,
    TargetKind,
    TargetRule,
    Window,
)
from carecall.campaigns.service import create_campaign
from carecall.consent.model import (
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
)
from carecall.consent.service import add_consent
from carecall.demo.seed import seed_demo
from carecall.patients.service import find_patients
from carecall.tenants.model import Purpose, Tenant

ADMIN = Principal.system("test")
VOICE_TEMPLATE = (
    "Hello, this is {practice} with a reminder of your appointment on {day}, {date} at "
    "{time}. To confirm, press 1. To stop these calls, press 9 to opt out. "
    "Questions? Call {practice_phone}."
)
SMS_TEMPLATE = "{practice}: reminder of your visit {day} {time}. Reply STOP to opt out."


def demo(app: Carecall) -> tuple[Tenant, list[uuid.UUID]]:
    """The demo practice (its seed gives every patient but each fifth a written consent to
    automated calls and texts); returns the 40 patients in the seed's order."""
    tenant, _ = seed_demo(app, ADMIN)
    return tenant, [pid for pid, _ in patient_ids(app, tenant)]


def consenting(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The patients with a written consent (the seed skips each fifth)."""
    return [pid for i, pid in enumerate(ids) if i % 5 != 4]


def number_of(index: int) -> str:
    return "+16175550142" if index == 0 else f"+1617555{200 + index:04d}"


def add_written_consent(app: Carecall, tenant: Tenant, pid: uuid.UUID, phone: str) -> None:
    for kind in (ConsentKind.AUTOMATED_CALLS, ConsentKind.TEXT_MESSAGES):
        add_consent(app, ADMIN, tenant.id, ConsentInput(
            patient_id=pid, phone=phone, kind=kind, form=ConsentForm.WRITTEN,
            given_at=app.clock.now() - timedelta(days=30), source=ConsentSource.DEMO,
            evidence=Evidence(EvidenceKind.E_SIGNATURE, reference=f"esig-{pid}")))


def patient_ids(app: Carecall, tenant: Tenant) -> list[tuple[uuid.UUID, str]]:
    """(id, phone) of the demo's 40 patients, in the seed's order."""
    phones = [number_of(i) for i in range(40)]
    found: list[tuple[uuid.UUID, str]] = []
    for phone in phones:
        (patient,) = find_patients(app, ADMIN, tenant.id, purpose=Purpose.PATIENT_SUPPORT,
                                   phone=phone)
        found.append((patient.id, phone))
    return found


def voice_campaign(app: Carecall, tenant: Tenant, targets: list[uuid.UUID], *,
                   channel: Channel = Channel.VOICE, attempts: int = 1,
                   window: Window | None = None) -> uuid.UUID:
    template = SMS_TEMPLATE if channel is Channel.SMS else VOICE_TEMPLATE
    spec = CampaignSpec(
        purpose=Purpose.APPOINTMENT_REMINDER, channel=channel, template=template,
        targets=TargetRule(TargetKind.PATIENTS, tuple(targets)),
        window=window or Window(), retry=RetryRule(max_attempts=attempts, delay_minutes=1),
        label="test reminders")
    return create_campaign(app, ADMIN, tenant.id, spec).id


@contextmanager
def phones(fake: FakeTwilio, status: str = "completed",
           answered_by: str = "human") -> Iterator[None]:
    """Every call the fake receives is answered (status set) shortly after."""
    stop = threading.Event()

    def answer() -> None:
        while not stop.wait(0.05):
            with fake.lock:
                waiting = [c.sid for c in fake.calls.values() if c.status == "queued"]
            for sid in waiting:
                fake.set_call(sid, status=status, answered_by=answered_by)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def call_requests(fake: FakeTwilio) -> list[str]:
    """The To of every call creation the fake was asked for."""
    return [r.param("To") or "" for r in fake.requests_to("POST", r"/Calls\.json$")]
