"""Parse and validate patient imports (CSV, FHIR R4 Bundles) before anything is written.

A file is checked whole: every problem is reported with its row or resource, its field and
the reason, and a file with any problem writes nothing. Messages name fields and positions,
never the values (which are PHI).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from carecall.patients.model import (
    APPOINTMENT_STATUSES,
    Address,
    AppointmentInput,
    AppointmentStatus,
    ImportProblem,
    Invoice,
    PatientInput,
)
from carecall.patients.rules import US_STATES, normalise_phone, valid_email, valid_zip

MAX_IMPORT_BYTES = 50 * 1024 * 1024
CSV_REQUIRED = ("first_name", "last_name", "dob")
CSV_KNOWN = frozenset(
    {
        "first_name",
        "last_name",
        "dob",
        "phone",
        "phone2",
        "email",
        "mrn",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip",
        "last_date_of_service",
        "invoice_number",
        "invoice_balance",
        "appointment_start",
        "appointment_provider",
        "appointment_location",
        "appointment_status",
    }
)
FHIR_APPOINTMENT_STATUS = {
    "proposed": "booked",
    "pending": "booked",
    "booked": "booked",
    "arrived": "booked",
    "checked-in": "booked",
    "waitlist": "booked",
    "fulfilled": "completed",
    "cancelled": "cancelled",
    "noshow": "noshow",
}


class _Row:
    """Collects the problems of one row or resource while its fields are parsed."""

    def __init__(self, where: str, problems: list[ImportProblem]) -> None:
        self.where = where
        self.problems = problems

    def fail(self, field: str, reason: str) -> None:
        self.problems.append(ImportProblem(self.where, field, reason))

    def text(
        self, field: str, value: str | None, *, required: bool = False, max_len: int = 200
    ) -> str | None:
        value = (value or "").strip()
        if not value:
            if required:
                self.fail(field, "is required")
            return None
        if len(value) > max_len:
            self.fail(field, f"is longer than {max_len} characters")
            return None
        return value

    def day(
        self,
        field: str,
        value: str | None,
        *,
        required: bool = False,
        not_future: date | None = None,
    ) -> date | None:
        text = self.text(field, value, required=required, max_len=10)
        if text is None:
            return None
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            self.fail(field, "is not a date in YYYY-MM-DD form")
            return None
        if parsed.year < 1880:
            self.fail(field, "is before 1880")
            return None
        if not_future is not None and parsed > not_future:
            self.fail(field, "is in the future")
            return None
        return parsed

    def instant(self, field: str, value: str | None) -> datetime | None:
        text = self.text(field, value, required=True, max_len=40)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(field, "is not an ISO-8601 date and time")
            return None
        if parsed.tzinfo is None:
            self.fail(field, "needs a UTC offset (for example -05:00 or Z)")
            return None
        return parsed.astimezone(UTC)

    def phone(self, field: str, value: str | None) -> str | None:
        text = self.text(field, value, max_len=30)
        if text is None:
            return None
        normal = normalise_phone(text)
        if normal is None:
            self.fail(field, "is not a valid phone number")
        return normal

    def email(self, field: str, value: str | None) -> str | None:
        text = self.text(field, value, max_len=254)
        if text is not None and not valid_email(text):
            self.fail(field, "is not a valid email address")
            return None
        return text

    def money(self, field: str, value: str | None) -> Decimal | None:
        text = self.text(field, value, max_len=20)
        if text is None:
            return None
        try:
            amount = Decimal(text.replace("$", "").replace(",", ""))
        except InvalidOperation:
            self.fail(field, "is not an amount such as 45.00")
            return None
        if not amount.is_finite():
            self.fail(field, "is not an amount such as 45.00")
            return None
        return amount.quantize(Decimal("0.01"))


def _address(
    row: _Row,
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
) -> Address | None:
    parts = [line1, city, state, zip_code]
    if not any((p or "").strip() for p in [*parts, line2]):
        return None
    l1 = row.text("address_line1", line1, required=True)
    c = row.text("city", city, required=True, max_len=100)
    s = row.text("state", state, required=True, max_len=2)
    z = row.text("zip", zip_code, required=True, max_len=10)
    if s is not None and s.upper() not in US_STATES:
        row.fail("state", "is not a US state or territory code")
    if z is not None and not valid_zip(z):
        row.fail("zip", "is not a 5-digit ZIP code")
    if None in (l1, c, s, z):
        return None
    assert l1
    assert c
    assert s
    assert z
    return Address(line1=l1, line2=row.text("address_line2", line2), city=c, state=s.upper(), zip=z)


def parse_csv(  # noqa: PLR0912, PLR0915 - one check per column, in column order
    data: bytes, today: date
) -> tuple[list[PatientInput], list[ImportProblem]]:
    """One patient per row; optional invoice and appointment columns attach one of each."""
    problems: list[ImportProblem] = []
    if len(data) > MAX_IMPORT_BYTES:
        return [], [ImportProblem("file", "size", "is larger than 50 MB; split it")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [ImportProblem("file", "encoding", "is not UTF-8")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [c for c in header if c not in CSV_KNOWN]
    if missing:
        problems.append(ImportProblem("header", ",".join(missing), "required column missing"))
    if unknown:
        problems.append(ImportProblem("header", ",".join(unknown), "unknown column"))
    if problems:
        return [], problems
    records: list[PatientInput] = []
    try:
        rows = list(reader)
    except csv.Error as exc:
        return [], [ImportProblem("file", "csv", f"is not well-formed CSV ({exc})")]
    if not rows:
        return [], [ImportProblem("file", "rows", "has no patient rows")]
    for number, raw in enumerate(rows, start=2):
        if None in raw:
            problems.append(
                ImportProblem(f"row {number}", "columns", "has more fields than the header")
            )
            continue
        row = _Row(f"row {number}", problems)
        before = len(problems)
        first = row.text("first_name", raw.get("first_name"), required=True, max_len=100)
        last = row.text("last_name", raw.get("last_name"), required=True, max_len=100)
        dob = row.day("dob", raw.get("dob"), required=True, not_future=today)
        phones = tuple(
            p
            for p in (row.phone("phone", raw.get("phone")), row.phone("phone2", raw.get("phone2")))
            if p
        )
        address = _address(
            row,
            raw.get("address_line1"),
            raw.get("address_line2"),
            raw.get("city"),
            raw.get("state"),
            raw.get("zip"),
        )
        email = row.email("email", raw.get("email"))
        mrn = row.text("mrn", raw.get("mrn"), max_len=40)
        dos = row.day("last_date_of_service", raw.get("last_date_of_service"), not_future=today)
        invoices: tuple[Invoice, ...] = ()
        if (raw.get("invoice_number") or "").strip():
            number_text = row.text("invoice_number", raw.get("invoice_number"), max_len=40)
            balance = row.money("invoice_balance", raw.get("invoice_balance") or "0")
            if number_text and balance is not None:
                invoices = (Invoice(number=number_text, balance=balance),)
        appointments: tuple[AppointmentInput, ...] = ()
        if (raw.get("appointment_start") or "").strip():
            start = row.instant("appointment_start", raw.get("appointment_start"))
            provider = row.text(
                "appointment_provider", raw.get("appointment_provider"), required=True
            )
            location = row.text(
                "appointment_location", raw.get("appointment_location"), required=True
            )
            status = (raw.get("appointment_status") or "booked").strip()
            if status not in APPOINTMENT_STATUSES:
                row.fail(
                    "appointment_status", "is not one of " + ", ".join(sorted(APPOINTMENT_STATUSES))
                )
            elif start and provider and location:
                appointments = (
                    AppointmentInput(
                        start=start,
                        provider=provider,
                        location=location,
                        status=cast(AppointmentStatus, status),
                    ),
                )
        if len(problems) == before and first and last and dob:
            records.append(
                PatientInput(
                    first_name=first,
                    last_name=last,
                    dob=dob,
                    phones=phones,
                    address=address,
                    email=email,
                    mrn=mrn,
                    last_date_of_service=dos,
                    invoices=invoices,
                    appointments=appointments,
                )
            )
    return ([] if problems else records), problems


def _fhir_patient(
    res: Any,
    where: str,
    problems: list[ImportProblem],
    today: date,
) -> PatientInput | None:
    row = _Row(where, problems)
    before = len(problems)
    names = res.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    first = row.text(
        "name.given",
        " ".join(official.given or []) if official else None,
        required=True,
        max_len=100,
    )
    last = row.text(
        "name.family", official.family if official else None, required=True, max_len=100
    )
    dob = row.day(
        "birthDate",
        res.birthDate.isoformat() if res.birthDate else None,
        required=True,
        not_future=today,
    )
    phones: list[str] = []
    email = None
    for i, telecom in enumerate(res.telecom or []):
        if telecom.system == "phone":
            phone = row.phone(f"telecom[{i}]", telecom.value)
            if phone:
                phones.append(phone)
        elif telecom.system == "email":
            email = row.email(f"telecom[{i}]", telecom.value)
    address = None
    if res.address:
        a = res.address[0]
        lines = list(a.line or [])
        address = _address(
            row,
            lines[0] if lines else None,
            lines[1] if len(lines) > 1 else None,
            a.city,
            a.state,
            a.postalCode,
        )
    mrn = None
    for identifier in res.identifier or []:
        codes = [c.code for c in (identifier.type.coding or [])] if identifier.type else []
        if "MR" in codes:
            mrn = row.text("identifier.MR", identifier.value, max_len=40)
    if len(problems) != before or not (first and last and dob):
        return None
    return PatientInput(
        first_name=first,
        last_name=last,
        dob=dob,
        phones=tuple(phones),
        address=address,
        email=email,
        mrn=mrn,
        external_ref=res.id,
    )


def _fhir_appointment(
    res: Any,
    where: str,
    problems: list[ImportProblem],
) -> tuple[str, AppointmentInput] | None:
    row = _Row(where, problems)
    before = len(problems)
    start = row.instant("start", res.start.isoformat() if res.start else None)
    status = FHIR_APPOINTMENT_STATUS.get(res.status)
    if status is None:
        row.fail("status", "is not an appointment status carecall keeps")
    patient_ref = provider = location = None
    for participant in res.participant or []:
        actor = participant.actor
        if actor is None or actor.reference is None:
            continue
        kind = actor.reference.split("/")[0] if "/" in actor.reference else "urn"
        if kind in ("Patient", "urn") and patient_ref is None:
            patient_ref = actor.reference
        elif kind in ("Practitioner", "PractitionerRole"):
            provider = actor.display or actor.reference
        elif kind == "Location":
            location = actor.display or actor.reference
    if patient_ref is None:
        row.fail("participant", "names no Patient")
    if provider is None:
        row.fail("participant", "names no Practitioner")
    if location is None:
        row.fail("participant", "names no Location")
    if len(problems) != before or not (start and status and patient_ref and provider and location):
        return None
    return patient_ref, AppointmentInput(
        start=start, provider=provider, location=location, status=cast(AppointmentStatus, status)
    )


def parse_fhir_bundle(  # noqa: PLR0912 - one branch per resource kind and problem
    data: bytes,
    today: date,
) -> tuple[list[PatientInput], list[ImportProblem]]:
    """Patients and their Appointments from a FHIR R4 Bundle (JSON)."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    if len(data) > MAX_IMPORT_BYTES:
        return [], [ImportProblem("file", "size", "is larger than 50 MB; split it")]
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [
            ImportProblem("file", "json", f"is not valid JSON (line {getattr(exc, 'lineno', '?')})")
        ]
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        return [], [ImportProblem("file", "resourceType", "is not a FHIR Bundle")]
    problems: list[ImportProblem] = []
    entries = document.get("entry") or []
    patients: dict[str, PatientInput] = {}
    pending: list[tuple[str, str, AppointmentInput]] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        where = f"entry[{i}] {kind or 'resource'}"
        if kind not in ("Patient", "Appointment"):
            problems.append(
                ImportProblem(where, "resourceType", "only Patient and Appointment are imported")
            )
            continue
        try:
            parsed: Any = (
                cast(Any, Bundle)
                .model_validate(
                    {
                        "resourceType": "Bundle",
                        "type": "collection",
                        "entry": [{"resource": resource}],
                    }
                )
                .entry[0]
                .resource
            )
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"][3:]) or "resource"
                problems.append(ImportProblem(where, loc, err["msg"].split(",")[0]))
            continue
        full_url = entry.get("fullUrl")
        if kind == "Patient":
            record = _fhir_patient(parsed, where, problems, today)
            if record is not None:
                for ref in filter(None, (f"Patient/{parsed.id}" if parsed.id else None, full_url)):
                    patients[ref] = record
        else:
            result = _fhir_appointment(parsed, where, problems)
            if result is not None:
                pending.append((where, *result))
    appointments: dict[int, list[AppointmentInput]] = {}
    for where, ref, appointment in pending:
        target = patients.get(ref)
        if target is None:
            problems.append(
                ImportProblem(where, "participant", "refers to a Patient that is not in the bundle")
            )
            continue
        appointments.setdefault(id(target), []).append(appointment)
    if not patients and not problems:
        problems.append(ImportProblem("file", "entry", "has no Patient resources"))
    if problems:
        return [], problems
    unique = list({id(p): p for p in patients.values()}.values())
    return [
        PatientInput(**{**p.__dict__, "appointments": tuple(appointments.get(id(p), []))})
        for p in unique
    ], []
