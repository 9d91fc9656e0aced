"""Tenant use cases: create practices, record BAAs, and the BAA gate on every PHI operation."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from carecall.access.guard import authorize, ensure_tenant, reaches_tenant
from carecall.access.model import Principal
from carecall.access.rules import Action
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.core.decision import Decision
from carecall.core.errors import Conflict, InvalidInput, NotFound, PolicyRefused
from carecall.core.ids import new_id
from carecall.patients.rules import normalise_phone
from carecall.tenants.model import Baa, Purpose, Tenant
from carecall.tenants.rules import may_process
from carecall.tenants.store import TenantStore

MAX_IDLE_MINUTES = 30


def _validate(tenant: Tenant) -> Tenant:
    if (
        not tenant.slug
        or not tenant.slug.replace("-", "").isalnum()
        or tenant.slug != tenant.slug.lower()
    ):
        raise InvalidInput("Tenant slug must be lower-case letters, digits and dashes.")
    if not tenant.display_name.strip():
        raise InvalidInput("Tenant display name is required.")
    try:
        zoneinfo.ZoneInfo(tenant.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "Unknown time zone; use an IANA name such as America/New_York."
        ) from None
    contact = normalise_phone(tenant.contact_phone)
    if contact is None:
        raise InvalidInput("The practice contact phone is not a valid phone number.")
    numbers = []
    for number in tenant.phone_numbers:
        normal = normalise_phone(number)
        if normal is None:
            raise InvalidInput("A practice phone number is not valid; use E.164 (+1...).")
        numbers.append(normal)
    staff = normalise_phone(tenant.staff_phone) if tenant.staff_phone else None
    if tenant.staff_phone and staff is None:
        raise InvalidInput("The staff hand-off phone is not a valid phone number.")
    if tenant.recording_mode not in ("off", "ask"):
        raise InvalidInput("Recording mode must be 'off' or 'ask'.")
    if not 1 <= tenant.session_idle_minutes <= MAX_IDLE_MINUTES:
        raise InvalidInput("Automatic logoff must be between 1 and 30 minutes.")
    for limit in (tenant.daily_limit, tenant.weekly_limit):
        if limit is not None and limit < 0:
            raise InvalidInput("Contact limits cannot be negative.")
    return replace(tenant, contact_phone=contact, phone_numbers=tuple(numbers), staff_phone=staff)


def create_tenant(app: Carecall, principal: Principal, tenant: Tenant) -> Tenant:
    """Create a practice and its tenant key in one unit of work."""
    authorize(app, principal, Action.TENANTS_CREATE)
    tenant = _validate(replace(tenant, id=tenant.id or new_id()))
    with app.db.transaction() as session:
        store = TenantStore(session)
        if store.by_slug(tenant.slug) is not None:
            raise Conflict(f"A tenant with slug '{tenant.slug}' already exists.")
        for number in tenant.phone_numbers:
            if store.by_phone_number(number) is not None:
                raise Conflict("That phone number already belongs to another tenant.")
        store.insert(tenant, app.clock.now())
        app.keyring.create_tenant_key(session, tenant.id)
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="tenant.create",
                resource_type="tenant",
                resource_id=str(tenant.id),
                tenant_id=tenant.id,
            ),
            app.clock,
        )
        created = store.get(tenant.id)
    assert created is not None
    return created


def add_baa(
    app: Carecall,
    principal: Principal,
    tenant_id: uuid.UUID,
    *,
    effective_on: date,
    expires_on: date | None,
    signed_by: str,
    purposes: frozenset[Purpose],
) -> Baa:
    """Record a business associate agreement (45 CFR 164.504(e))."""
    authorize(app, principal, Action.BAAS_WRITE, tenant_id)
    ensure_tenant(principal, tenant_id, "tenant")
    if not signed_by.strip():
        raise InvalidInput("A BAA needs the name of who signed it.")
    if expires_on is not None and expires_on < effective_on:
        raise InvalidInput("A BAA cannot expire before it takes effect.")
    if not purposes:
        raise InvalidInput("A BAA must permit at least one purpose.")
    baa = Baa(
        id=new_id(),
        tenant_id=tenant_id,
        effective_on=effective_on,
        expires_on=expires_on,
        signed_by=signed_by.strip(),
        permitted_purposes=purposes,
    )
    with app.db.transaction() as session:
        store = TenantStore(session)
        if store.get(tenant_id) is None:
            raise NotFound("No tenant with that id.")
        store.add_baa(baa, app.clock.now())
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="baa.create",
                resource_type="baa",
                resource_id=str(baa.id),
                tenant_id=tenant_id,
                details={"purposes": sorted(str(p) for p in purposes)},
            ),
            app.clock,
        )
    return baa


def terminate_baa(
    app: Carecall, principal: Principal, tenant_id: uuid.UUID, baa_id: uuid.UUID
) -> None:
    authorize(app, principal, Action.BAAS_WRITE, tenant_id)
    ensure_tenant(principal, tenant_id, "tenant")
    with app.db.transaction() as session:
        store = TenantStore(session)
        if not any(b.id == baa_id for b in store.baas_of(tenant_id)):
            raise NotFound("No BAA with that id.")
        store.terminate_baa(baa_id, app.clock.now())
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="baa.terminate",
                resource_type="baa",
                resource_id=str(baa_id),
                tenant_id=tenant_id,
            ),
            app.clock,
        )


def get_tenant(app: Carecall, principal: Principal, ref: str | uuid.UUID) -> Tenant:
    """A tenant by id or slug, if the principal may see it."""
    authorize(app, principal, Action.TENANTS_READ, ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    return tenant


def list_tenants(app: Carecall, principal: Principal) -> list[Tenant]:
    authorize(app, principal, Action.TENANTS_READ)
    with app.db.transaction() as session:
        tenants = TenantStore(session).all()
    return [t for t in tenants if reaches_tenant(principal, t.id)]


def load_tenant(session: Session, ref: str | uuid.UUID) -> Tenant | None:
    store = TenantStore(session)
    if isinstance(ref, uuid.UUID):
        return store.get(ref)
    try:
        return store.get(uuid.UUID(ref))
    except ValueError:
        return store.by_slug(ref)


def local_date(tenant: Tenant, at: datetime) -> date:
    return at.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()


def require_baa(
    app: Carecall, principal: Principal, tenant: Tenant, purpose: Purpose | None
) -> None:
    """Refuse with NO_ACTIVE_BAA / PURPOSE_NOT_PERMITTED unless a BAA in force on the
    practice's local date covers the purpose; the refusal is itself audited."""
    decision = may_process(tenant.baas, local_date(tenant, app.clock.now()), purpose)
    if decision.allowed:
        return
    with app.db.transaction() as session:
        _audit_refusal(session, app, principal, tenant, purpose, decision)
    raise _refusal(decision)


def require_baa_in(
    session: Session, app: Carecall, principal: Principal, tenant: Tenant,
    purpose: Purpose | None,
) -> None:
    """``require_baa`` inside the caller's unit of work: the refusal's audit entry commits
    with it, so a caller that catches the refusal must still commit (the call engine does:
    the turn goes on without the records)."""
    decision = may_process(tenant.baas, local_date(tenant, app.clock.now()), purpose)
    if not decision.allowed:
        _audit_refusal(session, app, principal, tenant, purpose, decision)
        raise _refusal(decision)


def _audit_refusal(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
                   purpose: Purpose | None, decision: Decision) -> None:
    append(
        session,
        AuditEvent(
            actor=principal.actor,
            action="phi.refused",
            resource_type="tenant",
            resource_id=str(tenant.id),
            tenant_id=tenant.id,
            purpose=str(purpose) if purpose else None,
            outcome="denied",
            severity="warning",
            details={"reasons": list(decision.codes)},
        ),
        app.clock,
    )


def _refusal(decision: Decision) -> PolicyRefused:
    message = {
        "NO_ACTIVE_BAA": "This practice has no business associate agreement in force; "
        "record a current BAA before working with its patients.",
        "PURPOSE_NOT_PERMITTED": "The practice's BAA does not permit this purpose.",
    }[decision.codes[0]]
    return PolicyRefused(message, reasons=decision.codes)
