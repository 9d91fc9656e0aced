"""Login, MFA, sessions, lockout, break-glass, training and API keys on real databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.access.helpers import PASSWORD, SYSTEM, enrol_user, make_tenant

from carecall.access import apikeys, service, views
from carecall.access.errors import AuthFailed, MfaRequired, SessionExpired
from carecall.access.rules import BreakGlassReason, RevealReason, Section
from carecall.access.store import AccessStore, sessions, users
from carecall.access.totp import code_at
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.core.clock import FixedClock
from carecall.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRefused,
)
from carecall.patients.model import PatientInput
from carecall.patients.service import create_patient
from carecall.tenants.model import Purpose


def events(app: Carecall) -> list[tuple[str, str, str]]:
    with app.db.transaction() as session:
        rows = session.execute(
            select(audit_entries.c.action, audit_entries.c.outcome, audit_entries.c.severity)
            .order_by(audit_entries.c.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_enrolment_login_and_mfa(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    user = enrol_user(carecall, clock, "supervisor", tenant.id)
    assert len(user.recovery_codes) == 10
    principal = service.authenticate(carecall, user.session.token)
    assert principal.roles == {"supervisor"}
    assert principal.tenant_id == tenant.id
    clock.advance(timedelta(seconds=60))
    pending = service.login(carecall, user.username, PASSWORD)
    assert pending.stage == "mfa"
    with pytest.raises(MfaRequired):
        service.authenticate(carecall, pending.token)
    full = service.verify_mfa(carecall, pending.token, code_at(user.secret, clock.now()))
    assert full.recovery_codes == []
    assert service.authenticate(carecall, full.session.token).id == str(user.user_id)
    # the pending token is spent: a token seen before MFA is worthless after it
    with pytest.raises(SessionExpired):
        service.verify_mfa(carecall, pending.token, code_at(user.secret, clock.now()))
    with carecall.db.transaction() as session:
        stored = session.execute(select(users.c.password_hash, users.c.totp_secret)).all()
        tokens = session.execute(select(sessions.c.token_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h, _ in stored)
    assert all(user.secret.encode() not in s for _, s in stored)
    assert full.session.token.encode() not in tokens


def test_totp_code_cannot_be_replayed(carecall: Carecall, clock: FixedClock) -> None:
    user = enrol_user(carecall, clock, "agent", make_tenant(carecall).id)
    code = code_at(user.secret, clock.now())  # the code enrolment just used
    pending = service.login(carecall, user.username, PASSWORD)
    with pytest.raises(AuthFailed):
        service.verify_mfa(carecall, pending.token, code)
    assert ("auth.totp_replay", "denied", "warning") in events(carecall)
    clock.advance(timedelta(seconds=30))
    ok = service.verify_mfa(carecall, pending.token, code_at(user.secret, clock.now()))
    assert ok.session.stage == "full"


def test_recovery_codes_work_once(carecall: Carecall, clock: FixedClock) -> None:
    user = enrol_user(carecall, clock, "agent", make_tenant(carecall).id)
    first = service.login(carecall, user.username, PASSWORD)
    service.verify_mfa(carecall, first.token, recovery_code=user.recovery_codes[0].lower())
    again = service.login(carecall, user.username, PASSWORD)
    with pytest.raises(AuthFailed):
        service.verify_mfa(carecall, again.token, recovery_code=user.recovery_codes[0])


def test_lockout_after_five_failures_and_no_user_enumeration(
    carecall: Carecall, clock: FixedClock
) -> None:
    user = enrol_user(carecall, clock, "agent", make_tenant(carecall).id)
    messages = set()
    for _ in range(5):
        with pytest.raises(AuthFailed) as failed:
            service.login(carecall, user.username, "wrong password here")
        messages.add(failed.value.message)
    with pytest.raises(AuthFailed) as locked:
        service.login(carecall, user.username, PASSWORD)  # right password, still locked
    with pytest.raises(AuthFailed) as unknown:
        service.login(carecall, "nobody-at-all", PASSWORD)
    assert messages == {locked.value.message} == {unknown.value.message}
    assert ("auth.lockout", "denied", "high") in events(carecall)
    clock.advance(timedelta(minutes=15))
    assert service.login(carecall, user.username, PASSWORD).stage == "mfa"


def test_session_idle_and_absolute_expiry(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall, idle=20)
    user = enrol_user(carecall, clock, "agent", tenant.id)
    token = user.session.token
    for _ in range(3):
        clock.advance(timedelta(minutes=19))
        service.authenticate(carecall, token)  # activity keeps it alive
    clock.advance(timedelta(minutes=20))
    with pytest.raises(SessionExpired):
        service.authenticate(carecall, token)
    assert ("session.expired", "success", "info") in events(carecall)
    # absolute lifetime: 12 hours however active
    clock.advance(timedelta(seconds=30))
    pending = service.login(carecall, user.username, PASSWORD)
    token = service.verify_mfa(carecall, pending.token,
                               code_at(user.secret, clock.now())).session.token
    for _ in range(12 * 4 + 2):
        clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
        try:
            service.authenticate(carecall, token)
        except SessionExpired:
            break
    else:
        pytest.fail("session outlived 12 hours")


def test_logout_everywhere_and_disable(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    user = enrol_user(carecall, clock, "agent", tenant.id)
    principal = service.authenticate(carecall, user.session.token)
    assert service.logout_everywhere(carecall, principal) == 1
    with pytest.raises(SessionExpired):
        service.authenticate(carecall, user.session.token)
    service.disable_user(carecall, SYSTEM, user.user_id)
    with pytest.raises(AuthFailed):
        service.login(carecall, user.username, PASSWORD)


def test_csrf_needed_for_state_changes(carecall: Carecall, clock: FixedClock) -> None:
    user = enrol_user(carecall, clock, "agent", make_tenant(carecall).id)
    from carecall.access.errors import CsrfFailed

    with pytest.raises(CsrfFailed):
        service.authenticate(carecall, user.session.token, state_changing=True)
    with pytest.raises(CsrfFailed):
        service.authenticate(carecall, user.session.token, csrf="forged", state_changing=True)
    service.authenticate(carecall, user.session.token, csrf=user.session.csrf,
                         state_changing=True)


def test_password_policy_on_enrolment(carecall: Carecall) -> None:
    enrolment = service.add_user(carecall, SYSTEM, username="newbie", role="agent",
                                 tenant_id=make_tenant(carecall).id)
    with pytest.raises(InvalidInput) as weak:
        service.enrol(carecall, enrolment.token, "qwerty123456")
    assert weak.value.code == "PASSWORD_COMMON"
    service.enrol(carecall, enrolment.token, PASSWORD)
    with pytest.raises(AuthFailed):  # one-time
        service.enrol(carecall, enrolment.token, PASSWORD)


def test_bootstrap_only_once(carecall: Carecall) -> None:
    service.bootstrap_admin(carecall, SYSTEM, "root-admin")
    with pytest.raises(Conflict):
        service.bootstrap_admin(carecall, SYSTEM, "second-admin")


def _patient(app: Carecall, tenant_id: uuid.UUID) -> uuid.UUID:
    from datetime import date

    return create_patient(app, SYSTEM, tenant_id, PatientInput(
        first_name="Testa", last_name="Person", dob=date(1980, 5, 17),
        phones=("+16175550142",)))


def test_training_gate(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    pid = _patient(carecall, tenant.id)
    user = enrol_user(carecall, clock, "supervisor", tenant.id, trained=False)
    principal = service.authenticate(carecall, user.session.token)
    with pytest.raises(PolicyRefused) as refused:
        views.read(carecall, principal, tenant.id, pid, Purpose.SCHEDULING)
    assert refused.value.code == "TRAINING_EXPIRED"
    service.record_training(carecall, SYSTEM, user.user_id, clock.now().date())
    principal = service.authenticate(carecall, user.session.token)
    assert views.read(carecall, principal, tenant.id, pid, Purpose.SCHEDULING)["id"] == str(pid)
    clock.advance(timedelta(days=365))
    principal = service.authenticate(carecall, service.verify_mfa(
        carecall, service.login(carecall, user.username, PASSWORD).token,
        code_at(user.secret, clock.now())).session.token)
    with pytest.raises(PolicyRefused):
        views.read(carecall, principal, tenant.id, pid, Purpose.SCHEDULING)


def test_masking_reveal_and_minimum_necessary(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    pid = _patient(carecall, tenant.id)
    sup = service.authenticate(carecall, enrol_user(carecall, clock, "supervisor",
                                                    tenant.id).session.token)
    masked = views.search(carecall, sup, tenant.id, Purpose.SCHEDULING, phone="+16175550142")
    assert masked[0]["first_name"] == "T***"
    assert masked[0]["dob"] == "****-**-**"
    assert "billing" not in masked[0]
    assert "appointments" in masked[0]
    with pytest.raises(PermissionDenied) as too_much:
        views.reveal(carecall, sup, tenant.id, pid, Purpose.SCHEDULING,
                     frozenset({Section.BILLING}), RevealReason.SCHEDULING_TASK)
    assert too_much.value.code == "MINIMUM_NECESSARY"
    shown = views.reveal(carecall, sup, tenant.id, pid, Purpose.SCHEDULING,
                         frozenset({Section.NAME}), RevealReason.PATIENT_ON_CALL)
    assert shown["first_name"] == "Testa"
    assert shown["dob"] == "****-**-**"
    with carecall.db.transaction() as session:
        body = session.execute(select(audit_entries.c.body).where(
            audit_entries.c.action == "patient.reveal")).scalar_one()
    assert b"patient_on_call" in body
    assert b"Testa" not in body


def test_break_glass(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    pid = _patient(carecall, tenant.id)
    officer = enrol_user(carecall, clock, "privacy_officer", tenant.id)
    agent_user = enrol_user(carecall, clock, "agent", tenant.id)
    agent = service.authenticate(carecall, agent_user.session.token)
    # An agent reaches a patient only through a hand-off assignment: without one, the
    # patient is "not found" (tests/handoffs); break-glass is the audited way around.
    with pytest.raises(NotFound):
        views.reveal(carecall, agent, tenant.id, pid, Purpose.SCHEDULING,
                     frozenset({Section.NAME}), RevealReason.EMERGENCY)
    service.break_glass(carecall, agent, BreakGlassReason.PATIENT_SAFETY, minutes=10)
    agent = service.authenticate(carecall, agent_user.session.token)
    shown = views.reveal(carecall, agent, tenant.id, pid, Purpose.SCHEDULING,
                         frozenset({Section.NAME}), RevealReason.EMERGENCY)
    assert shown["first_name"] == "Testa"
    assert ("access.break_glass", "success", "high") in events(carecall)
    with carecall.db.transaction() as session:
        notes = AccessStore(session).notifications_for(officer.user_id)
    assert [n["kind"] for n in notes] == ["break_glass"]
    clock.advance(timedelta(minutes=10))
    agent = service.authenticate(carecall, agent_user.session.token)
    with pytest.raises(NotFound):
        views.reveal(carecall, agent, tenant.id, pid, Purpose.SCHEDULING,
                     frozenset({Section.NAME}), RevealReason.EMERGENCY)
    with pytest.raises(InvalidInput):
        service.break_glass(carecall, agent, BreakGlassReason.PATIENT_SAFETY, minutes=61)


def test_other_tenant_ids_are_not_found_and_audited(carecall: Carecall,
                                                    clock: FixedClock) -> None:
    a = make_tenant(carecall, "alpha", "+16175550101")
    b = make_tenant(carecall, "beta", "+16175550102")
    pid = _patient(carecall, a.id)
    intruder = service.authenticate(carecall, enrol_user(carecall, clock, "supervisor",
                                                         b.id).session.token)
    with pytest.raises(NotFound):
        views.read(carecall, intruder, a.id, pid, Purpose.SCHEDULING)
    with pytest.raises(NotFound):
        views.read(carecall, intruder, b.id, pid, Purpose.SCHEDULING)
    with pytest.raises(NotFound):
        views.read(carecall, intruder, "alpha", pid, Purpose.SCHEDULING)
    assert ("access.cross_tenant", "denied", "warning") in events(carecall)


def test_api_keys(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    key, secret = apikeys.create_key(carecall, SYSTEM, tenant.id, "ehr sync",
                                     frozenset({"patients:search"}), days=30)
    principal = apikeys.authenticate_key(carecall, secret)
    assert principal.tenant_id == tenant.id
    assert principal.permissions == {"patients:search"}
    with carecall.db.transaction() as session:
        stored = AccessStore(session).key_by_prefix(key.prefix)
    assert stored is not None
    assert stored[0].last_used_at == clock.now()
    assert secret.encode() not in stored[1]
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for bad in (forged, "cck_000000000000_nope", "garbage"):
        with pytest.raises(AuthFailed):
            apikeys.authenticate_key(carecall, bad)
    clock.advance(timedelta(days=30))
    with pytest.raises(AuthFailed):
        apikeys.authenticate_key(carecall, secret)
    assert ("apikey.rejected", "denied", "warning") in events(carecall)
    with pytest.raises(InvalidInput):
        apikeys.create_key(carecall, SYSTEM, tenant.id, "x", frozenset({"users:write"}))
    key2, secret2 = apikeys.create_key(carecall, SYSTEM, tenant.id, "x",
                                       frozenset({"patients:read"}))
    apikeys.revoke_key(carecall, SYSTEM, tenant.id, key2.id)
    with pytest.raises(AuthFailed):
        apikeys.authenticate_key(carecall, secret2)
