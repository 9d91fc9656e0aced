"""Patient tables and the repository that encrypts and decrypts them.

Encryption happens here, where the row id is known: every PHI column is an AES-GCM blob
under the patient's own data key, bound to (tenant, table, column, row id) by the associated
data. Child rows (appointments, invoices, prescriptions, labs) use the patient's key too, so
shredding the patient's key makes all of them unreadable at once. Look-ups go through blind
indexes in ``patient_lookup``; the matching rows are decrypted and compared in memory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from carecall.core.errors import DataShredded
from carecall.core.ids import new_id
from carecall.crypto.envelope import DataKey, FieldContext, blob_key_id
from carecall.crypto.keyring import Keyring
from carecall.patients.model import (
    Address,
    Appointment,
    AppointmentInput,
    AppointmentSlot,
    ContactDetails,
    Invoice,
    LabResult,
    LabResultInput,
    Patient,
    PatientInput,
    Prescription,
    PrescriptionInput,
)
from carecall.patients.rules import normalise_dob, normalise_phone
from carecall.store.any_of import uuid_in
from carecall.store.schema import UtcDateTime, metadata

patients = Table(
    "patients",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("first_name", LargeBinary, nullable=True),
    Column("last_name", LargeBinary, nullable=True),
    Column("dob", LargeBinary, nullable=True),
    Column("phones", LargeBinary, nullable=True),
    Column("address", LargeBinary, nullable=True),
    Column("email", LargeBinary, nullable=True),
    Column("mrn", LargeBinary, nullable=True),
    Column("last_date_of_service", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set when the patient's key was destroyed: the row stays so references resolve to a
    # clear "shredded" answer instead of a dangling id.
    Column("shredded_at", UtcDateTime, nullable=True),
)

patient_lookup = Table(
    "patient_lookup",
    metadata,
    Column(
        "id",
        Integer().with_variant(BigInteger(), "postgresql"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("tenant_id", Uuid, nullable=False),
    Column(
        "patient_id",
        Uuid,
        ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(20), nullable=False),
    Column("value", BigInteger, nullable=False),
    Index("ix_patient_lookup_search", "tenant_id", "kind", "value"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column(
        "patient_id",
        Uuid,
        ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # In the clear so campaigns can select "booked, 24 to 48 hours ahead"; it names no one:
    # the patient it belongs to is an opaque id whose identifiers are encrypted.
    Column("start_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("provider", LargeBinary, nullable=False),
    Column("location", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_appointments_tenant_start", "tenant_id", "start_at"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column(
        "patient_id",
        Uuid,
        ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("number", LargeBinary, nullable=False),
    Column("balance", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

prescriptions = Table(
    "prescriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column(
        "patient_id",
        Uuid,
        ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

lab_results = Table(
    "lab_results",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column(
        "patient_id",
        Uuid,
        ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Every encrypted column, by table; the data rotation walks this map.
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "first_name",
        "last_name",
        "dob",
        "phones",
        "address",
        "email",
        "mrn",
        "last_date_of_service",
    ),
    "appointments": ("provider", "location"),
    "invoices": ("number", "balance"),
    "prescriptions": ("name",),
    "lab_results": ("name",),
}
TABLES: dict[str, Table] = {
    "patients": patients,
    "appointments": appointments,
    "invoices": invoices,
    "prescriptions": prescriptions,
    "lab_results": lab_results,
}


class _Cipher:
    """Seals and opens one patient's fields under the right key."""

    def __init__(self, keyring: Keyring, session: Session, tenant_id: uuid.UUID) -> None:
        self.keyring = keyring
        self.session = session
        self.tenant_id = tenant_id
        self.keys: dict[uuid.UUID, DataKey] = {}

    def seal(
        self, key: DataKey, table: str, column: str, row_id: uuid.UUID, value: str | None
    ) -> bytes | None:
        if value is None:
            return None
        ctx = FieldContext(self.tenant_id, table, column, row_id)
        return key.seal(value.encode("utf-8"), ctx)

    def open(self, table: str, column: str, row_id: uuid.UUID, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        key_id = blob_key_id(blob)
        key = self.keys.get(key_id)
        if key is None:
            key = self.keyring.data_key_by_id(self.session, self.tenant_id, key_id)
            self.keys[key_id] = key
        ctx = FieldContext(self.tenant_id, table, column, row_id)
        return key.open(blob, ctx).decode("utf-8")


def _address_json(address: Address | None) -> str | None:
    if address is None:
        return None
    return json.dumps(
        {
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "state": address.state,
            "zip": address.zip,
        },
        sort_keys=True,
    )


def _address(text: str | None) -> Address | None:
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    return Address(
        line1=data["line1"],
        line2=data.get("line2"),
        city=data["city"],
        state=data["state"],
        zip=data["zip"],
    )


# Statements every record read runs, built once (building an expression and its cache key
# costs more than running it; the call engine reads records on many turns).
_LOAD = select(patients).where(patients.c.id == bindparam("p"),
                               patients.c.tenant_id == bindparam("t"))
_SHREDDED_AT = select(patients.c.shredded_at).where(patients.c.id == bindparam("p"),
                                                    patients.c.tenant_id == bindparam("t"))
_CHILD_ROWS: dict[tuple[str, str], Any] = {}


class PatientStore:
    """The only code that reads or writes the patient tables.

    It assumes its caller (``patients.service``) has checked permission, tenant, purpose and
    BAA, and writes the audit entry in the same session.
    """

    def __init__(
        self, session: Session, keyring: Keyring, tenant_id: uuid.UUID, index_bits: int
    ) -> None:
        self.session = session
        self.keyring = keyring
        self.tenant_id = tenant_id
        self.index_bits = index_bits
        self.cipher = _Cipher(keyring, session, tenant_id)

    # -- writing -------------------------------------------------------------------------

    def insert(
        self,
        data: PatientInput,
        now: datetime,
        patient_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        pid = patient_id or new_id()
        key = self.keyring.data_key_for(self.session, self.tenant_id, pid)
        self.session.execute(
            insert(patients).values(
                id=pid,
                tenant_id=self.tenant_id,
                created_at=now,
                updated_at=now,
                **self._sealed_fields(key, pid, data),
            )
        )
        self._write_index(pid, data)
        for appointment in data.appointments:
            self.add_appointment(pid, appointment, now, key=key)
        for invoice in data.invoices:
            self.add_invoice(pid, invoice, now, key=key)
        for prescription in data.prescriptions:
            self.add_prescription(pid, prescription, now, key=key)
        for lab in data.lab_results:
            self.add_lab_result(pid, lab, now, key=key)
        return pid

    def update_identity(self, patient_id: uuid.UUID, data: PatientInput, now: datetime) -> None:
        """Replace the patient's identifying fields (not their appointments or bills)."""
        key = self.keyring.data_key_for(self.session, self.tenant_id, patient_id)
        self.session.execute(
            update(patients)
            .where(patients.c.id == patient_id, patients.c.tenant_id == self.tenant_id)
            .values(updated_at=now, **self._sealed_fields(key, patient_id, data))
        )
        self.session.execute(
            delete(patient_lookup).where(patient_lookup.c.patient_id == patient_id)
        )
        self._write_index(patient_id, data)

    def _sealed_fields(
        self,
        key: DataKey,
        pid: uuid.UUID,
        data: PatientInput,
    ) -> dict[str, bytes | None]:
        seal = self.cipher.seal
        return {
            "first_name": seal(key, "patients", "first_name", pid, data.first_name),
            "last_name": seal(key, "patients", "last_name", pid, data.last_name),
            "dob": seal(key, "patients", "dob", pid, normalise_dob(data.dob)),
            "phones": seal(key, "patients", "phones", pid, json.dumps(list(data.phones))),
            "address": seal(key, "patients", "address", pid, _address_json(data.address)),
            "email": seal(key, "patients", "email", pid, data.email),
            "mrn": seal(key, "patients", "mrn", pid, data.mrn),
            "last_date_of_service": seal(
                key,
                "patients",
                "last_date_of_service",
                pid,
                data.last_date_of_service.isoformat() if data.last_date_of_service else None,
            ),
        }

    def _write_index(self, pid: uuid.UUID, data: PatientInput) -> None:
        values: list[tuple[str, str]] = [("dob", normalise_dob(data.dob))]
        values += [("phone", phone) for phone in data.phones]
        rows = []
        for kind, value in values:
            digest = self.keyring.blind_index(
                self.session, self.tenant_id, kind, value, self.index_bits
            )[0]
            rows.append(
                {"tenant_id": self.tenant_id, "patient_id": pid, "kind": kind, "value": digest}
            )
        if rows:
            self.session.execute(insert(patient_lookup), rows)

    def add_appointment(
        self, pid: uuid.UUID, data: AppointmentInput, now: datetime, key: DataKey | None = None
    ) -> uuid.UUID:
        key = key or self.keyring.data_key_for(self.session, self.tenant_id, pid)
        row_id = new_id()
        self.session.execute(
            insert(appointments).values(
                id=row_id,
                tenant_id=self.tenant_id,
                patient_id=pid,
                start_at=data.start,
                status=data.status,
                created_at=now,
                provider=self.cipher.seal(key, "appointments", "provider", row_id, data.provider),
                location=self.cipher.seal(key, "appointments", "location", row_id, data.location),
            )
        )
        return row_id

    def set_appointment(
        self, appointment_id: uuid.UUID, *, status: str | None = None, start: datetime | None = None
    ) -> bool:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status
        if start is not None:
            values["start_at"] = start
        result = self.session.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id, appointments.c.tenant_id == self.tenant_id)
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def add_invoice(
        self, pid: uuid.UUID, data: Invoice, now: datetime, key: DataKey | None = None
    ) -> uuid.UUID:
        key = key or self.keyring.data_key_for(self.session, self.tenant_id, pid)
        row_id = new_id()
        self.session.execute(
            insert(invoices).values(
                id=row_id,
                tenant_id=self.tenant_id,
                patient_id=pid,
                created_at=now,
                number=self.cipher.seal(key, "invoices", "number", row_id, data.number),
                balance=self.cipher.seal(key, "invoices", "balance", row_id, str(data.balance)),
            )
        )
        return row_id

    def add_prescription(
        self, pid: uuid.UUID, data: PrescriptionInput, now: datetime, key: DataKey | None = None
    ) -> uuid.UUID:
        key = key or self.keyring.data_key_for(self.session, self.tenant_id, pid)
        row_id = new_id()
        self.session.execute(
            insert(prescriptions).values(
                id=row_id,
                tenant_id=self.tenant_id,
                patient_id=pid,
                status=data.status,
                updated_at=now,
                name=self.cipher.seal(key, "prescriptions", "name", row_id, data.name),
            )
        )
        return row_id

    def add_lab_result(
        self, pid: uuid.UUID, data: LabResultInput, now: datetime, key: DataKey | None = None
    ) -> uuid.UUID:
        key = key or self.keyring.data_key_for(self.session, self.tenant_id, pid)
        row_id = new_id()
        self.session.execute(
            insert(lab_results).values(
                id=row_id,
                tenant_id=self.tenant_id,
                patient_id=pid,
                status=data.status,
                updated_at=now,
                name=self.cipher.seal(key, "lab_results", "name", row_id, data.name),
            )
        )
        return row_id

    # -- reading -------------------------------------------------------------------------

    def exists(self, patient_id: uuid.UUID) -> bool:
        found = self.session.execute(
            select(patients.c.id).where(
                patients.c.id == patient_id, patients.c.tenant_id == self.tenant_id
            )
        ).first()
        return found is not None

    def is_shredded(self, patient_id: uuid.UUID) -> bool:
        at = self.session.execute(
            _SHREDDED_AT, {"p": patient_id, "t": self.tenant_id}).scalar_one_or_none()
        return at is not None

    def ids(self, limit: int | None = None) -> list[uuid.UUID]:
        query = (
            select(patients.c.id)
            .where(patients.c.tenant_id == self.tenant_id, patients.c.shredded_at.is_(None))
            .order_by(patients.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.execute(query).scalars())

    def candidates(self, kind: str, value: str) -> list[uuid.UUID]:
        """Patient ids whose blind index for ``kind`` equals that of ``value``: a handful,
        including deliberate false positives; the caller decrypts and compares."""
        digests = self.keyring.blind_index(
            self.session, self.tenant_id, kind, value, self.index_bits
        )
        rows = self.session.execute(
            select(patient_lookup.c.patient_id)
            .distinct()
            .where(
                patient_lookup.c.tenant_id == self.tenant_id,
                patient_lookup.c.kind == kind,
                patient_lookup.c.value.in_(digests),
            )
        ).scalars()
        return list(rows)

    def load(self, patient_id: uuid.UUID) -> Patient | None:
        row = self.session.execute(_LOAD, {"p": patient_id, "t": self.tenant_id}).first()
        if row is None:
            return None
        r = row._mapping
        if r["shredded_at"] is not None:
            raise DataShredded("This patient's data was crypto-shredded and can no longer be read.")
        o = self.cipher.open
        pid = r["id"]
        dos = o("patients", "last_date_of_service", pid, r["last_date_of_service"])
        return Patient(
            id=pid,
            tenant_id=self.tenant_id,
            first_name=o("patients", "first_name", pid, r["first_name"]) or "",
            last_name=o("patients", "last_name", pid, r["last_name"]) or "",
            dob=date.fromisoformat(o("patients", "dob", pid, r["dob"]) or ""),
            phones=tuple(json.loads(o("patients", "phones", pid, r["phones"]) or "[]")),
            address=_address(o("patients", "address", pid, r["address"])),
            email=o("patients", "email", pid, r["email"]),
            mrn=o("patients", "mrn", pid, r["mrn"]),
            last_date_of_service=date.fromisoformat(dos) if dos else None,
            invoices=self._invoices(pid),
            appointments=self._appointments(pid),
            prescriptions=self._prescriptions(pid),
            lab_results=self._labs(pid),
        )

    def _rows(self, table: Table, pid: uuid.UUID, order: Any) -> Iterable[Any]:
        key = (table.name, str(order))
        query = _CHILD_ROWS.get(key)
        if query is None:  # built once per table and order, then reused
            query = _CHILD_ROWS[key] = (
                select(table)
                .where(table.c.patient_id == bindparam("p"), table.c.tenant_id == bindparam("t"))
                .order_by(order))
        return self.session.execute(query, {"p": pid, "t": self.tenant_id}).all()

    def _invoices(self, pid: uuid.UUID) -> tuple[Invoice, ...]:
        o = self.cipher.open
        return tuple(
            Invoice(
                id=r.id,
                number=o("invoices", "number", r.id, r.number) or "",
                balance=Decimal(o("invoices", "balance", r.id, r.balance) or "0"),
            )
            for r in self._rows(invoices, pid, invoices.c.created_at)
        )

    def _appointments(self, pid: uuid.UUID) -> tuple[Appointment, ...]:
        o = self.cipher.open
        return tuple(
            Appointment(
                id=r.id,
                patient_id=pid,
                start=r.start_at,
                status=r.status,
                provider=o("appointments", "provider", r.id, r.provider) or "",
                location=o("appointments", "location", r.id, r.location) or "",
            )
            for r in self._rows(appointments, pid, appointments.c.start_at)
        )

    def _prescriptions(self, pid: uuid.UUID) -> tuple[Prescription, ...]:
        o = self.cipher.open
        return tuple(
            Prescription(
                id=r.id, name=o("prescriptions", "name", r.id, r.name) or "", status=r.status
            )
            for r in self._rows(prescriptions, pid, prescriptions.c.updated_at)
        )

    def _labs(self, pid: uuid.UUID) -> tuple[LabResult, ...]:
        o = self.cipher.open
        return tuple(
            LabResult(id=r.id, name=o("lab_results", "name", r.id, r.name) or "", status=r.status)
            for r in self._rows(lab_results, pid, lab_results.c.updated_at)
        )

    def contact_details(self, patient_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ContactDetails]:
        """Names, date of birth and phones of many patients, with a query per thousand and
        their data keys unwrapped in bulk; shredded and unknown patients are left out."""
        found: dict[uuid.UUID, ContactDetails] = {}
        cols = (patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.dob,
                patients.c.phones)
        for start in range(0, len(patient_ids), 1000):
            rows = self.session.execute(
                select(*cols).where(
                    patients.c.tenant_id == self.tenant_id,
                    uuid_in(self.session, patients.c.id, patient_ids[start:start + 1000]),
                    patients.c.shredded_at.is_(None),
                )
            ).all()
            self.cipher.keys.update(self.keyring.data_keys_by_ids(
                self.session, self.tenant_id, [blob_key_id(r.dob) for r in rows if r.dob]))
            o = self.cipher.open
            for r in rows:
                found[r.id] = ContactDetails(
                    patient_id=r.id,
                    first_name=o("patients", "first_name", r.id, r.first_name) or "",
                    last_name=o("patients", "last_name", r.id, r.last_name) or "",
                    dob=date.fromisoformat(o("patients", "dob", r.id, r.dob) or ""),
                    phones=tuple(json.loads(o("patients", "phones", r.id, r.phones) or "[]")),
                )
        return found

    def appointments_between(
        self, start: datetime, end: datetime, statuses: Sequence[str]
    ) -> list[AppointmentSlot]:
        """Appointments starting in [start, end) with one of ``statuses``, by start time;
        reads only the clear columns (ids, start, status), never PHI."""
        rows = self.session.execute(
            select(appointments.c.id, appointments.c.patient_id, appointments.c.start_at)
            .join(patients, patients.c.id == appointments.c.patient_id)
            .where(
                appointments.c.tenant_id == self.tenant_id,
                appointments.c.start_at >= start,
                appointments.c.start_at < end,
                appointments.c.status.in_(list(statuses)),
                patients.c.shredded_at.is_(None),
            )
            .order_by(appointments.c.start_at, appointments.c.id)
        ).all()
        return [AppointmentSlot(r.id, r.patient_id, r.start_at) for r in rows]

    def appointment_slots(self, appointment_ids: Sequence[uuid.UUID]) -> list[AppointmentSlot]:
        rows = self.session.execute(
            select(appointments.c.id, appointments.c.patient_id, appointments.c.start_at)
            .where(appointments.c.tenant_id == self.tenant_id,
                   appointments.c.id.in_(list(appointment_ids)))
            .order_by(appointments.c.start_at, appointments.c.id)
        ).all()
        return [AppointmentSlot(r.id, r.patient_id, r.start_at) for r in rows]

    # -- shredding and rotation ----------------------------------------------------------

    def mark_shredded(self, patient_id: uuid.UUID, now: datetime) -> None:
        """Drop the look-up rows and mark the row; the key itself is destroyed by the keyring."""
        self.session.execute(
            delete(patient_lookup).where(patient_lookup.c.patient_id == patient_id)
        )
        self.session.execute(
            update(patients).where(patients.c.id == patient_id).values(shredded_at=now)
        )

    def reencrypt(self, patient_id: uuid.UUID, old: DataKey, new: DataKey) -> None:
        """Re-seal every encrypted field of one patient under ``new`` (data key rotation),
        and recompute the blind indexes under the tenant's active index keys."""
        for name, columns in ENCRYPTED_COLUMNS.items():
            table = TABLES[name]
            owner = table.c.id if name == "patients" else table.c.patient_id
            rows = self.session.execute(
                select(table.c.id, *[table.c[c] for c in columns]).where(owner == patient_id)
            ).all()
            for row in rows:
                values: dict[str, bytes | None] = {}
                for column in columns:
                    blob = row._mapping[column]
                    if blob is None:
                        values[column] = None
                        continue
                    if blob_key_id(blob) != old.key_id:
                        # Written during the rotation, already under the new version.
                        values[column] = blob
                        continue
                    ctx_old = FieldContext(self.tenant_id, name, column, row.id)
                    plain = old.open(blob, ctx_old)
                    values[column] = new.seal(plain, ctx_old)
                self.session.execute(update(table).where(table.c.id == row.id).values(**values))
        patient = self.load(patient_id)
        if patient is not None:
            self.session.execute(
                delete(patient_lookup).where(patient_lookup.c.patient_id == patient_id)
            )
            self._write_index(
                patient_id,
                PatientInput(
                    first_name=patient.first_name,
                    last_name=patient.last_name,
                    dob=patient.dob,
                    phones=patient.phones,
                ),
            )


def normalised_phone_or_raw(raw: str) -> str:
    return normalise_phone(raw) or raw
