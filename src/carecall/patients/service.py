"""Patient use cases: the few doors through which PHI is written or read.

Each function takes the acting principal and a purpose, checks the tenant scope and the BAA,
runs in one unit of work and writes its audit entry in that same unit of work (if the audit
write fails, the read or write fails too). Audit entries carry ids and codes, never PHI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from carecall.access.guard import authorize, ensure_tenant
from carecall.access.model import Principal
from carecall.access.rules import Action
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append, append_many
from carecall.calls.store import reencrypt_call_subject
from carecall.consent.store import reencrypt_subject
from carecall.core.errors import InvalidInput, NotFound
from carecall.patients.model import (
    APPOINTMENT_STATUSES,
    AppointmentSlot,
    ContactDetails,
    Patient,
    PatientInput,
)
from carecall.patients.rules import normalise_dob, normalise_phone
from carecall.patients.store import PatientStore
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import load_tenant, require_baa, require_baa_in


def _open(
    app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, purpose: Purpose | None
) -> Tenant:
    """Resolve the tenant, check scope and BAA; refusals are audited by ``require_baa``."""
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    require_baa(app, principal, tenant, purpose)
    return tenant


def _store(app: Carecall, session: Session, tenant: Tenant) -> PatientStore:
    return PatientStore(session, app.keyring, tenant.id, app.index_bits)


def _audit(
    app: Carecall,
    session: Session,
    principal: Principal,
    tenant: Tenant,
    action: str,
    resource_id: str | None,
    purpose: Purpose | None,
    **details: Any,
) -> None:
    append(
        session,
        AuditEvent(
            actor=principal.actor,
            action=action,
            resource_type="patient",
            resource_id=resource_id,
            tenant_id=tenant.id,
            purpose=str(purpose) if purpose else None,
            details=details,
        ),
        app.clock,
    )


def create_patient(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    data: PatientInput,
    purpose: Purpose = Purpose.PATIENT_SUPPORT,
) -> uuid.UUID:
    authorize(app, principal, Action.PATIENTS_WRITE, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        pid = _store(app, session, tenant).insert(data, app.clock.now())
        _audit(app, session, principal, tenant, "patient.create", str(pid), purpose)
    return pid


def get_patient(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    purpose: Purpose,
) -> Patient:
    """Decrypt one patient's record; the read is audited with its purpose."""
    authorize(app, principal, Action.PATIENTS_READ, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        return _get(session, app, principal, tenant, patient_id, purpose)


def _get(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
         patient_id: uuid.UUID, purpose: Purpose) -> Patient:
    patient = _store(app, session, tenant).load(patient_id)
    if patient is None:
        raise NotFound("No patient with that id.")
    _audit(app, session, principal, tenant, "patient.read", str(patient_id), purpose)
    return patient


# -- inside a caller's unit of work ----------------------------------------------------------
# For a system component that already holds a unit of work and the loaded tenant (the call
# engine serves a whole turn in one): the same checks (matrix, tenant scope, BAA) and the
# same audit entries, written in the caller's transaction, so they commit with it or not at
# all. A BAA refusal's audit entry is written there too: a caller that catches the refusal
# still commits. No second unit of work is opened (it would queue behind SQLite's writer).


def _open_in(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
             action: Action, purpose: Purpose | None) -> None:
    ensure_tenant(principal, tenant.id, "tenant")
    authorize(app, principal, action)
    require_baa_in(session, app, principal, tenant, purpose)


def get_patient_in(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
                   patient_id: uuid.UUID, purpose: Purpose) -> Patient:
    """``get_patient`` in the caller's unit of work."""
    _open_in(session, app, principal, tenant, Action.PATIENTS_READ, purpose)
    return _get(session, app, principal, tenant, patient_id, purpose)


def find_patients_in(session: Session, app: Carecall, principal: Principal, tenant: Tenant, *,
                     purpose: Purpose, phone: str | None = None,
                     dob: date | None = None) -> list[Patient]:
    """``find_patients`` in the caller's unit of work."""
    normal_phone = _search_phone(phone, dob)
    _open_in(session, app, principal, tenant, Action.PATIENTS_SEARCH, purpose)
    return _find(session, app, principal, tenant, purpose, normal_phone, dob)


def update_appointment_in(session: Session, app: Carecall, principal: Principal,
                          tenant: Tenant, patient_id: uuid.UUID, appointment_id: uuid.UUID, *,
                          status: str | None = None, start: datetime | None = None,
                          purpose: Purpose = Purpose.SCHEDULING) -> None:
    """``update_appointment`` in the caller's unit of work."""
    _appointment_change(status, start)
    _open_in(session, app, principal, tenant, Action.PATIENTS_WRITE, purpose)
    _update_appointment(session, app, principal, tenant, patient_id, appointment_id,
                        status, start, purpose)


def find_patients(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    *,
    purpose: Purpose,
    phone: str | None = None,
    dob: date | None = None,
) -> list[Patient]:
    """Patients whose phone and/or date of birth equal the given ones.

    The blind index narrows to a handful of candidates (false positives by design); they are
    decrypted and compared exactly in memory. Shredded patients are never returned.
    """
    authorize(app, principal, Action.PATIENTS_SEARCH, tenant_ref)
    normal_phone = _search_phone(phone, dob)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        return _find(session, app, principal, tenant, purpose, normal_phone, dob)


def _search_phone(phone: str | None, dob: date | None) -> str | None:
    if phone is None and dob is None:
        raise InvalidInput("Search needs a phone number or a date of birth.")
    normal_phone = normalise_phone(phone) if phone is not None else None
    if phone is not None and normal_phone is None:
        raise InvalidInput("That is not a valid phone number.")
    return normal_phone


def _find(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
          purpose: Purpose, normal_phone: str | None, dob: date | None) -> list[Patient]:
    store = _store(app, session, tenant)
    if normal_phone is not None:
        ids = store.candidates("phone", normal_phone)
    else:
        assert dob is not None
        ids = store.candidates("dob", normalise_dob(dob))
    found: list[Patient] = []
    for pid in ids:
        if store.is_shredded(pid):
            continue
        patient = store.load(pid)
        if patient is None:
            continue
        if normal_phone is not None and normal_phone not in patient.phones:
            continue
        if dob is not None and patient.dob != dob:
            continue
        found.append(patient)
    _audit(
        app,
        session,
        principal,
        tenant,
        "patient.search",
        None,
        purpose,
        candidates=len(ids),
        matches=len(found),
        by=[k for k, v in (("phone", normal_phone), ("dob", dob)) if v is not None],
    )
    return found


def contact_details(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_ids: Sequence[uuid.UUID],
    purpose: Purpose,
) -> dict[uuid.UUID, ContactDetails]:
    """Numbers and identifiers of many patients for outbound contact (a campaign plan, a
    dial-time check): one read per thousand patients, one audit entry per patient read."""
    authorize(app, principal, Action.PATIENTS_READ, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        found = _store(app, session, tenant).contact_details(list(patient_ids))
        append_many(
            session,
            (
                AuditEvent(
                    actor=principal.actor,
                    action="patient.read_contact",
                    resource_type="patient",
                    resource_id=str(pid),
                    tenant_id=tenant.id,
                    purpose=str(purpose),
                )
                for pid in found
            ),
            app.clock,
        )
    return found


def appointments_between(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    start: datetime,
    end: datetime,
    purpose: Purpose,
    statuses: Sequence[str] = ("booked", "confirmed"),
) -> list[AppointmentSlot]:
    """Appointments starting in [start, end): ids and times only, no PHI."""
    authorize(app, principal, Action.APPOINTMENTS_READ, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        slots = _store(app, session, tenant).appointments_between(start, end, statuses)
        _audit(app, session, principal, tenant, "appointment.select", None, purpose,
               count=len(slots))
    return slots


def appointment_slots(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    appointment_ids: Sequence[uuid.UUID],
    purpose: Purpose,
) -> list[AppointmentSlot]:
    """Start times of the given appointments (ids and times only, no PHI)."""
    authorize(app, principal, Action.APPOINTMENTS_READ, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        slots = _store(app, session, tenant).appointment_slots(appointment_ids)
        _audit(app, session, principal, tenant, "appointment.select", None, purpose,
               count=len(slots))
    return slots


def update_patient(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    data: PatientInput,
    purpose: Purpose = Purpose.PATIENT_SUPPORT,
) -> None:
    authorize(app, principal, Action.PATIENTS_WRITE, tenant_ref)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        if not store.exists(patient_id) or store.is_shredded(patient_id):
            raise NotFound("No patient with that id.")
        store.update_identity(patient_id, data, app.clock.now())
        _audit(app, session, principal, tenant, "patient.update", str(patient_id), purpose)


def update_appointment(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    patient_id: uuid.UUID,
    appointment_id: uuid.UUID,
    *,
    status: str | None = None,
    start: datetime | None = None,
    purpose: Purpose = Purpose.SCHEDULING,
) -> None:
    """Confirm, cancel or move one of the patient's appointments (the call agent's
    confirm/cancel/reschedule); "not found" unless the appointment is that patient's."""
    authorize(app, principal, Action.PATIENTS_WRITE, tenant_ref)
    _appointment_change(status, start)
    tenant = _open(app, principal, tenant_ref, purpose)
    with app.db.transaction() as session:
        _update_appointment(session, app, principal, tenant, patient_id, appointment_id,
                            status, start, purpose)


def _appointment_change(status: str | None, start: datetime | None) -> None:
    if status is not None and status not in APPOINTMENT_STATUSES:
        raise InvalidInput("Unknown appointment status.")
    if start is not None and start.tzinfo is None:
        raise InvalidInput("An appointment start needs a time zone.")


def _update_appointment(session: Session, app: Carecall, principal: Principal, tenant: Tenant,
                        patient_id: uuid.UUID, appointment_id: uuid.UUID, status: str | None,
                        start: datetime | None, purpose: Purpose) -> None:
    store = _store(app, session, tenant)
    patient = store.load(patient_id)
    if patient is None or all(a.id != appointment_id for a in patient.appointments):
        raise NotFound("No appointment with that id.")
    store.set_appointment(appointment_id, status=status, start=start)
    _audit(app, session, principal, tenant, "appointment.update", str(patient_id), purpose,
           appointment=str(appointment_id),
           changed=[k for k, v in (("status", status), ("start", start)) if v is not None])


def import_patients(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    records: Sequence[PatientInput],
    source: str,
) -> list[uuid.UUID]:
    """Write already-validated records in one unit of work: all of them, or none."""
    authorize(app, principal, Action.PATIENTS_IMPORT, tenant_ref)
    tenant = _open(app, principal, tenant_ref, Purpose.PATIENT_SUPPORT)
    now = app.clock.now()
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        ids = [store.insert(record, now) for record in records]
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="patient.import",
                resource_type="patient",
                tenant_id=tenant.id,
                purpose=str(Purpose.PATIENT_SUPPORT),
                details={"count": len(ids), "source": source},
            ),
            app.clock,
        )
    return ids


def export_patient(
    app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, patient_id: uuid.UUID
) -> dict[str, Any]:
    """One patient's whole record as JSON-ready data (for a right-of-access request,
    45 CFR 164.524); the export is audited."""
    authorize(app, principal, Action.PATIENTS_EXPORT, tenant_ref)
    tenant = _open(app, principal, tenant_ref, Purpose.PATIENT_SUPPORT)
    with app.db.transaction() as session:
        patient = _store(app, session, tenant).load(patient_id)
        if patient is None:
            raise NotFound("No patient with that id.")
        _audit(
            app,
            session,
            principal,
            tenant,
            "patient.export",
            str(patient_id),
            Purpose.PATIENT_SUPPORT,
        )
    return patient_document(patient)


def shred_patient(
    app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, patient_id: uuid.UUID
) -> None:
    """Crypto-shred: destroy the patient's data key and blind-index rows. Every copy of
    their PHI (database, backups, replicas) becomes unreadable; the shred is audited."""
    authorize(app, principal, Action.PATIENTS_SHRED, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        if not store.exists(patient_id) or store.is_shredded(patient_id):
            raise NotFound("No patient with that id.")
        destroyed = app.keyring.shred_subject(session, tenant.id, patient_id)
        store.mark_shredded(patient_id, app.clock.now())
        _audit(
            app,
            session,
            principal,
            tenant,
            "patient.shred",
            str(patient_id),
            None,
            keys_destroyed=destroyed,
        )


def rotate_tenant_data(
    app: Carecall,
    principal: Principal,
    tenant_ref: str | uuid.UUID,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-encrypt a tenant's data under a fresh tenant key and fresh data keys.

    Resumable: it works on whichever patients still use an old key, a batch per unit of
    work, so a crash loses at most one uncommitted batch and a rerun carries on. Readable
    throughout: every ciphertext names its own key, and old keys stay until the last
    patient has moved.
    """
    authorize(app, principal, Action.KEYS_ROTATE, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    with app.db.transaction() as session:
        version = app.keyring.start_tenant_rotation(session, tenant.id)
        total = len(app.keyring.subjects_on_old_keys(session, tenant.id, limit=None))
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="keys.rotate_data.start",
                resource_type="tenant_key",
                resource_id=str(version),
                tenant_id=tenant.id,
                details={"patients": total},
            ),
            app.clock,
        )
    done = 0
    if progress:
        progress(done, total)
    while True:
        with app.db.transaction() as session:
            batch = app.keyring.subjects_on_old_keys(session, tenant.id, limit=batch_size)
            store = _store(app, session, tenant)
            for pid in batch:
                old, new = app.keyring.rotate_subject_key(session, tenant.id, pid)
                store.reencrypt(pid, old, new)
                # Consent-ledger values sealed under the same subject key (numbers,
                # evidence, reviews) move with it.
                reencrypt_subject(session, app.keyring, tenant.id, app.index_bits, pid, old,
                                  new)
                # So do call sessions, raw turns and opt-outs (their subject is the call).
                reencrypt_call_subject(session, tenant.id, pid, old, new)
                app.keyring.drop_data_key(session, tenant.id, old.key_id)
        if not batch:
            break
        done += len(batch)
        if progress:
            progress(done, total)
    with app.db.transaction() as session:
        app.keyring.finish_tenant_rotation(session, tenant.id)
        append(
            session,
            AuditEvent(
                actor=principal.actor,
                action="keys.rotate_data.finish",
                resource_type="tenant_key",
                resource_id=str(version),
                tenant_id=tenant.id,
                details={"patients": done},
            ),
            app.clock,
        )
    return done


def patient_document(patient: Patient) -> dict[str, Any]:
    address = patient.address
    return {
        "id": str(patient.id),
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "dob": patient.dob.isoformat(),
        "phones": list(patient.phones),
        "address": None
        if address is None
        else {
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "state": address.state,
            "zip": address.zip,
        },
        "email": patient.email,
        "mrn": patient.mrn,
        "billing": {
            "last_date_of_service": patient.last_date_of_service.isoformat()
            if patient.last_date_of_service
            else None,
            "invoices": [{"number": i.number, "balance": str(i.balance)} for i in patient.invoices],
        },
        "appointments": [
            {
                "id": str(a.id),
                "start": a.start.isoformat(),
                "provider": a.provider,
                "location": a.location,
                "status": a.status,
            }
            for a in patient.appointments
        ],
        "prescriptions": [{"name": p.name, "status": p.status} for p in patient.prescriptions],
        "lab_results": [{"name": lab.name, "status": lab.status} for lab in patient.lab_results],
    }
