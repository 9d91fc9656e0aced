"""The walls every service passes before touching a tenant's data: tenant scope, then the
permission matrix (with the training gate), each refusal audited.

A principal bound to a tenant reaches that tenant only; anything else is "not found", the
same answer as for an id that does not exist, so ids of other tenants cannot be probed.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from carecall.access.model import Principal
from carecall.access.rules import AccessReason, Action, Role, holds_on_assignment
from carecall.audit.model import AuditEvent, DetailValue, Severity
from carecall.audit.store import append
from carecall.core.errors import NotFound, PermissionDenied, PolicyRefused

if TYPE_CHECKING:
    from carecall.app import Carecall


def platform_level(principal: Principal) -> bool:
    """The operator's own administrators and system components manage every tenant's
    settings; the permission matrix still keeps platform admins away from PHI."""
    if principal.kind == "system":
        return True
    return principal.tenant_id is None and Role.PLATFORM_ADMIN.value in principal.roles


def reaches_tenant(principal: Principal, tenant_id: uuid.UUID) -> bool:
    return platform_level(principal) or principal.tenant_id == tenant_id


def ensure_tenant(principal: Principal, tenant_id: uuid.UUID, what: str = "resource") -> None:
    if not reaches_tenant(principal, tenant_id):
        raise NotFound(f"No {what} with that id.")


def security_event(
    app: Carecall,
    principal_actor: str,
    action: str,
    *,
    tenant_id: uuid.UUID | None = None,
    resource_type: str = "access",
    resource_id: str | None = None,
    severity: Severity = "warning",
    outcome: str = "denied",
    **details: DetailValue,
) -> None:
    """Audit a security event in its own unit of work, so it survives the failing request
    that caused it."""
    with app.db.transaction() as session:
        append(
            session,
            AuditEvent(
                actor=principal_actor,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                tenant_id=tenant_id,
                outcome="denied" if outcome == "denied" else "failure",
                severity=severity,
                details=dict(details),
            ),
            app.clock,
        )


def _tenant_id_of(app: Carecall, ref: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(ref, uuid.UUID):
        return ref
    try:
        return uuid.UUID(ref)
    except ValueError:
        from carecall.tenants.store import TenantStore

        with app.db.transaction() as session:
            tenant = TenantStore(session).by_slug(ref)
        return None if tenant is None else tenant.id


def for_patient(app: Carecall, principal: Principal, patient_id: uuid.UUID) -> Principal:
    """The principal of a request about one patient: every patient door declares the
    patient here before ``authorize``. For a role that acts on patients only through
    hand-off assignments, the user's assignments naming that patient are loaded (one
    query, in its own unit of work, before the door opens its own) for the access rule."""
    assignments = principal.assignments
    if holds_on_assignment(principal):
        from carecall.handoffs.store import HandoffStore

        with app.db.transaction() as session:
            assignments = tuple(HandoffStore(session).for_agent_patient(
                uuid.UUID(principal.id), patient_id))
    return replace(principal, patient_scope=patient_id, assignments=assignments)


def authorize(
    app: Carecall,
    principal: Principal,
    action: Action,
    tenant_ref: str | uuid.UUID | None = None,
) -> None:
    """Refuse unless ``principal`` may perform ``action`` (in ``tenant_ref``, when given).

    Tenant scope is checked first so another tenant's ids answer "not found" whatever the
    role; then the matrix, where PHI actions also need current HIPAA training. An action
    a role holds only on assignment, refused for a patient the request named
    (``for_patient``), answers "not found" too: a patient not on the agent's call is
    treated like one that does not exist.
    """
    from carecall.access.rules import permits

    if tenant_ref is not None and not platform_level(principal):
        target = _tenant_id_of(app, tenant_ref)
        if target is None or target != principal.tenant_id:
            security_event(
                app,
                principal.actor,
                "access.cross_tenant",
                tenant_id=principal.tenant_id,
                resource_type="tenant",
                resource_id=str(target) if target else None,
                attempted=action.value,
            )
            raise NotFound("No tenant with that id.")
    decision = permits(principal, action, app.clock.now())
    if decision:
        return
    if AccessReason.NOT_ASSIGNED in decision.reasons:
        security_event(
            app,
            principal.actor,
            "access.not_assigned",
            tenant_id=principal.tenant_id,
            resource_type="patient",
            resource_id=str(principal.patient_scope) if principal.patient_scope else None,
            attempted=action.value,
            reasons=list(decision.codes),
        )
        if principal.patient_scope is not None:
            raise NotFound("No patient with that id.")
        raise PermissionDenied("Your role does this only for the patient of a handed-off "
                               "call you have taken; claim the call first.")
    security_event(
        app,
        principal.actor,
        "access.denied",
        tenant_id=principal.tenant_id,
        attempted=action.value,
        reasons=list(decision.codes),
    )
    if AccessReason.TRAINING_EXPIRED in decision.reasons:
        raise PolicyRefused(
            "Your HIPAA training is missing or more than a year old; complete it and ask your "
            "administrator to record it before working with patient data.",
            reasons=decision.codes,
        )
    raise PermissionDenied("Your role does not allow this; ask your practice's administrator.")
