"""The patient directory as plain data: what carecall knows about a practice's patients."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

AppointmentStatus = Literal["booked", "confirmed", "cancelled", "completed", "noshow"]
PrescriptionStatus = Literal["pending", "ready", "picked_up", "cancelled"]
LabStatus = Literal["pending", "available", "reviewed"]

APPOINTMENT_STATUSES: frozenset[str] = frozenset(
    {"booked", "confirmed", "cancelled", "completed", "noshow"}
)
PRESCRIPTION_STATUSES: frozenset[str] = frozenset({"pending", "ready", "picked_up", "cancelled"})
LAB_STATUSES: frozenset[str] = frozenset({"pending", "available", "reviewed"})


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str
    line2: str | None = None


@dataclass(frozen=True)
class Invoice:
    number: str
    balance: Decimal
    id: uuid.UUID | None = None


@dataclass(frozen=True)
class AppointmentInput:
    start: datetime
    provider: str
    location: str
    status: AppointmentStatus = "booked"
    #: The source system's id (CSV ref or FHIR id), to tie appointments to patients on import.
    external_ref: str | None = None


@dataclass(frozen=True)
class PrescriptionInput:
    name: str
    status: PrescriptionStatus = "pending"


@dataclass(frozen=True)
class LabResultInput:
    name: str
    status: LabStatus = "pending"


@dataclass(frozen=True)
class PatientInput:
    """A patient as given by a person, an import or a script: validated, not yet stored."""

    first_name: str
    last_name: str
    dob: date
    phones: tuple[str, ...] = ()
    address: Address | None = None
    email: str | None = None
    mrn: str | None = None
    last_date_of_service: date | None = None
    invoices: tuple[Invoice, ...] = ()
    appointments: tuple[AppointmentInput, ...] = ()
    prescriptions: tuple[PrescriptionInput, ...] = ()
    lab_results: tuple[LabResultInput, ...] = ()
    external_ref: str | None = None


@dataclass(frozen=True)
class Appointment:
    id: uuid.UUID
    patient_id: uuid.UUID
    start: datetime
    provider: str
    location: str
    status: AppointmentStatus


@dataclass(frozen=True)
class Prescription:
    id: uuid.UUID
    name: str
    status: PrescriptionStatus


@dataclass(frozen=True)
class LabResult:
    id: uuid.UUID
    name: str
    status: LabStatus


@dataclass(frozen=True)
class Patient:
    """A decrypted patient record. Exists only in memory, only after an audited read."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    first_name: str
    last_name: str
    dob: date
    phones: tuple[str, ...] = ()
    address: Address | None = None
    email: str | None = None
    mrn: str | None = None
    last_date_of_service: date | None = None
    invoices: tuple[Invoice, ...] = ()
    appointments: tuple[Appointment, ...] = field(default_factory=tuple)
    prescriptions: tuple[Prescription, ...] = field(default_factory=tuple)
    lab_results: tuple[LabResult, ...] = field(default_factory=tuple)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class ContactDetails:
    """What an outbound contact needs about a patient: the numbers, and the identifiers a
    message must not contain. Decrypted in memory only, after an audited bulk read."""

    patient_id: uuid.UUID
    first_name: str
    last_name: str
    dob: date
    phones: tuple[str, ...]


@dataclass(frozen=True)
class AppointmentSlot:
    """A booked appointment's time and owner: no PHI (opaque ids, a start time)."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    start: datetime


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file: where (row or resource), which field, why."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"
