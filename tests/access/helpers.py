"""Factories for access tests: a real Carecall, practices with BAAs, enrolled users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from carecall.access import service
from carecall.access.model import Principal
from carecall.access.service import LoginResult
from carecall.access.totp import code_at
from carecall.app import Carecall, open_app
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.ids import new_id
from carecall.crypto.providers import create_local_kek
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant

SYSTEM = Principal.system("tests")
PASSWORD = "correct horse battery staple"
#: argon2id still, at test-sized cost (production uses RFC 9106's t=3, 64 MiB).
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}


def build_app(tmp_path: Path, db_url: str, clock: FixedClock) -> Carecall:
    settings = Settings(data_dir=tmp_path, database_url=db_url, extra=FAST_ARGON2)
    create_local_kek(settings.kek_path)
    return open_app(settings, clock=clock)


def make_tenant(app: Carecall, slug: str = "riverside", number: str = "+16175550100",
                idle: int = 15) -> Tenant:
    tenant = create_tenant(app, SYSTEM, Tenant(
        id=new_id(), slug=slug, display_name=slug.title(), contact_phone="+16175550199",
        timezone="America/New_York", agent_name="Ava", phone_numbers=(number,),
        session_idle_minutes=idle))
    add_baa(app, SYSTEM, tenant.id, effective_on=date(2020, 1, 1), expires_on=None,
            signed_by="Dr Example", purposes=frozenset(Purpose))
    return tenant


@dataclass
class Enrolled:
    user_id: uuid.UUID
    username: str
    secret: str
    session: LoginResult
    recovery_codes: list[str]


def enrol_user(app: Carecall, clock: FixedClock, role: str, tenant_id: uuid.UUID | None,
               username: str | None = None, trained: bool = True) -> Enrolled:
    name = username or f"{role}-{uuid.uuid4().hex[:8]}"
    enrolment = service.add_user(app, SYSTEM, username=name, role=role, tenant_id=tenant_id)
    pending = service.enrol(app, enrolment.token, PASSWORD)
    setup = service.start_totp(app, pending.token)
    result = service.verify_mfa(app, pending.token, code_at(setup.secret, clock.now()))
    if trained:
        service.record_training(app, SYSTEM, enrolment.user.id,
                                clock.now().date() - timedelta(days=10))
    return Enrolled(enrolment.user.id, name, setup.secret, result.session, result.recovery_codes)
