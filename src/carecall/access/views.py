"""Minimum-necessary views of patient records (45 CFR 164.502(b), 164.514(d)).

A view holds only the sections the role and purpose need; inside them every PHI value is
masked unless the caller revealed that section with a reason, and each reveal is audited
with the reason code (never free text). These functions are the API's and console's doors
to patient reads: they name the patient (``guard.for_patient``, which lets an agent reach
only the patient of a call it has taken), check the permission matrix, then call the
patient service, which checks tenant and BAA and audits the read itself.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from carecall.access.guard import authorize, for_patient, security_event
from carecall.access.model import Principal
from carecall.access.rules import Action, RevealReason, Section, visible_sections
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.core.errors import PermissionDenied
from carecall.patients.model import Patient
from carecall.patients.service import find_patients, get_patient
from carecall.tenants.model import Purpose

MASK = "***"


def _initial(text: str) -> str:
    return (text[:1] + MASK) if text else MASK


def _tail(text: str | None, keep: int) -> str | None:
    if text is None:
        return None
    return MASK + text[-keep:] if len(text) > keep * 2 else MASK


def patient_view(
    patient: Patient, sections: frozenset[Section], revealed: frozenset[Section]
) -> dict[str, Any]:
    """The record cut down to ``sections``; sections outside ``revealed`` are masked."""
    s = Section
    view: dict[str, Any] = {
        "id": str(patient.id),
        "sections": sorted(str(x) for x in sections),
        "revealed": sorted(str(x) for x in revealed & sections),
    }

    def show(section: Section) -> bool:
        return section in revealed

    if s.NAME in sections:
        view["first_name"] = patient.first_name if show(s.NAME) else _initial(patient.first_name)
        view["last_name"] = patient.last_name if show(s.NAME) else _initial(patient.last_name)
    if s.DOB in sections:
        view["dob"] = patient.dob.isoformat() if show(s.DOB) else "****-**-**"
    if s.CONTACT in sections:
        reveal = show(s.CONTACT)
        view["phones"] = [p if reveal else (_tail(p, 2) or MASK) for p in patient.phones]
        view["email"] = patient.email if reveal or patient.email is None else MASK
        address = patient.address
        view["address"] = None if address is None else (
            ", ".join(x for x in (address.line1, address.line2, address.city, address.state,
                                  address.zip) if x)
            if reveal else MASK
        )
    if s.MRN in sections:
        view["mrn"] = patient.mrn if show(s.MRN) else _tail(patient.mrn, 2)
    if s.APPOINTMENTS in sections:
        reveal = show(s.APPOINTMENTS)
        view["appointments"] = [
            {
                "id": str(a.id),
                "start": a.start.isoformat() if reveal else MASK,
                "provider": a.provider if reveal else MASK,
                "location": a.location if reveal else MASK,
                "status": a.status,
            }
            for a in patient.appointments
        ]
    if s.BILLING in sections:
        reveal = show(s.BILLING)
        last: date | None = patient.last_date_of_service
        view["billing"] = {
            "last_date_of_service": (last.isoformat() if reveal else MASK) if last else None,
            "invoices": [
                {"number": i.number if reveal else MASK,
                 "balance": str(i.balance) if reveal else MASK}
                for i in patient.invoices
            ],
        }
    if s.PRESCRIPTIONS in sections:
        view["prescriptions"] = [
            {"name": p.name if show(s.PRESCRIPTIONS) else MASK, "status": p.status}
            for p in patient.prescriptions
        ]
    if s.LAB_RESULTS in sections:
        view["lab_results"] = [
            {"name": r.name if show(s.LAB_RESULTS) else MASK, "status": r.status}
            for r in patient.lab_results
        ]
    return view


def search(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    purpose: Purpose,
    *,
    phone: str | None = None,
    dob: date | None = None,
) -> list[dict[str, Any]]:
    authorize(app, principal, Action.PATIENTS_SEARCH, tenant_ref)
    found = find_patients(app, principal, tenant_ref, purpose=purpose, phone=phone, dob=dob)
    sections = visible_sections(principal, purpose, app.clock.now())
    return [patient_view(p, sections, frozenset()) for p in found]


def read(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    purpose: Purpose,
) -> dict[str, Any]:
    principal = for_patient(app, principal, patient_id)
    authorize(app, principal, Action.PATIENTS_READ, tenant_ref)
    patient = get_patient(app, principal, tenant_ref, patient_id, purpose)
    return patient_view(patient, visible_sections(principal, purpose, app.clock.now()),
                        frozenset())


def appointments(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    purpose: Purpose,
) -> list[dict[str, Any]]:
    """A patient's appointments in clear: what scheduling needs, and only for purposes
    whose minimum necessary includes appointments."""
    principal = for_patient(app, principal, patient_id)
    authorize(app, principal, Action.APPOINTMENTS_READ, tenant_ref)
    sections = visible_sections(principal, purpose, app.clock.now())
    if Section.APPOINTMENTS not in sections:
        _refuse(app, principal, "appointments", purpose)
    patient = get_patient(app, principal, tenant_ref, patient_id, purpose)
    return list(patient_view(patient, sections, frozenset({Section.APPOINTMENTS}))
                ["appointments"])


def _refuse(app: Carecall, principal: Principal, what: str, purpose: Purpose) -> None:
    security_event(app, principal.actor, "phi.minimum_necessary", tenant_id=principal.tenant_id,
                   resource_type="patient", requested=what, purpose=str(purpose))
    raise PermissionDenied(
        "Minimum necessary: your role and the stated purpose do not cover that information.",
        code="MINIMUM_NECESSARY",
    )


def reveal(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    purpose: Purpose,
    sections: frozenset[Section],
    reason: RevealReason,
) -> dict[str, Any]:
    """Unmask ``sections`` of one record; the reveal is audited with ``reason``."""
    principal = for_patient(app, principal, patient_id)
    authorize(app, principal, Action.PATIENTS_REVEAL, tenant_ref)
    visible = visible_sections(principal, purpose, app.clock.now())
    if not sections or not sections <= visible:
        _refuse(app, principal, ",".join(sorted(sections - visible)) or "nothing", purpose)
    patient = get_patient(app, principal, tenant_ref, patient_id, purpose)
    with app.db.transaction() as session:
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="patient.reveal",
                resource_type="patient",
                resource_id=str(patient_id),
                tenant_id=patient.tenant_id,
                purpose=str(purpose),
                details={"reason": reason.value, "sections": sorted(str(s) for s in sections),
                         "break_glass": principal.elevated_until is not None
                         and app.clock.now() < principal.elevated_until},
            ),
            app.clock,
        )
    return patient_view(patient, visible, sections)
