"""Parsing the do-not-call and consent import files (pure: bytes in, values and problems out).

Problems name the line and the field, never the value (it may be a phone number). Imports
are all or nothing: one bad line and nothing is written, so a rerun after fixing the file
cannot leave a half-imported list behind.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from carecall.consent.model import ConsentForm, ConsentKind, EvidenceKind
from carecall.patients.model import ImportProblem
from carecall.patients.rules import normalise_phone

MAX_LINES = 200_000
PHONE_HEADERS = ("phone", "phone_number", "number", "telephone", "mobile")


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _phone(raw: str) -> str | None:
    raw = raw.strip()
    if not raw or not any(c.isdigit() for c in raw):
        return None
    return normalise_phone(raw)


def parse_numbers(data: bytes) -> tuple[list[str], list[ImportProblem]]:
    """One number per line, or a CSV whose header has a ``phone`` column. Blank lines and
    lines starting with ``#`` are skipped; duplicates are folded."""
    content = _text(data)
    if content is None:
        return [], [ImportProblem("file", "encoding", "not UTF-8 text")]
    lines = content.splitlines()
    if len(lines) > MAX_LINES:
        return [], [ImportProblem("file", "size", f"more than {MAX_LINES} lines")]
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    header = [h.strip().lower() for h in next(csv.reader([first]))] if first else []
    column = next((header.index(h) for h in PHONE_HEADERS if h in header), None)
    numbers: list[str] = []
    problems: list[ImportProblem] = []
    seen: set[str] = set()
    header_done = column is None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not header_done:
            header_done = True
            continue
        if column is None:
            raw = line
        else:
            cells = next(csv.reader([line]))
            raw = cells[column] if column < len(cells) else ""
        phone = _phone(raw)
        if phone is None:
            problems.append(ImportProblem(f"line {number}", "phone",
                                          "not a valid phone number"))
            continue
        if phone not in seen:
            seen.add(phone)
            numbers.append(phone)
    return numbers, problems


@dataclass(frozen=True)
class ConsentRow:
    """One consent from a CSV: the patient by id, or by phone alone (resolved later)."""

    line: int
    patient_id: uuid.UUID | None
    phone: str | None
    kind: ConsentKind
    form: ConsentForm
    given_at: datetime
    evidence_kind: EvidenceKind | None
    evidence_ref: str | None


CONSENT_COLUMNS = ("patient_id", "phone", "kind", "form", "given_at", "evidence_kind",
                   "evidence_ref")


def _when(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_consents(data: bytes) -> tuple[list[ConsentRow], list[ImportProblem]]:
    """CSV with a header: ``patient_id`` and/or ``phone``, ``kind``, ``form``, ``given_at``
    (ISO 8601; no zone means UTC), optional ``evidence_kind`` and ``evidence_ref``."""
    content = _text(data)
    if content is None:
        return [], [ImportProblem("file", "encoding", "not UTF-8 text")]
    reader = csv.DictReader(io.StringIO(content))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    missing = [c for c in ("kind", "form", "given_at") if c not in fields]
    if "patient_id" not in fields and "phone" not in fields:
        missing.append("patient_id or phone")
    if missing:
        return [], [ImportProblem("header", ", ".join(missing), "column missing")]
    rows: list[ConsentRow] = []
    problems: list[ImportProblem] = []
    for offset, raw_row in enumerate(reader):
        line = offset + 2
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw_row.items()}
        found, issues = _consent_row(line, row)
        problems += issues
        if found is not None:
            rows.append(found)
        if len(rows) + len(problems) > MAX_LINES:
            return [], [ImportProblem("file", "size", f"more than {MAX_LINES} rows")]
    return rows, problems


def _consent_row(line: int, row: dict[str, str]) -> tuple[ConsentRow | None,
                                                          list[ImportProblem]]:
    where = f"line {line}"
    problems: list[ImportProblem] = []
    patient_id = None
    if row.get("patient_id"):
        try:
            patient_id = uuid.UUID(row["patient_id"])
        except ValueError:
            problems.append(ImportProblem(where, "patient_id", "not a patient id"))
    phone = None
    if row.get("phone"):
        phone = _phone(row["phone"])
        if phone is None:
            problems.append(ImportProblem(where, "phone", "not a valid phone number"))
    elif not row.get("patient_id"):
        problems.append(ImportProblem(where, "patient_id", "give a patient id or a phone"))
    kind = _enum(ConsentKind, row.get("kind", ""), where, "kind", problems)
    form = _enum(ConsentForm, row.get("form", ""), where, "form", problems)
    given_at = _when(row.get("given_at", ""))
    if given_at is None:
        problems.append(ImportProblem(where, "given_at", "not an ISO 8601 date and time"))
    evidence_kind = None
    if row.get("evidence_kind"):
        evidence_kind = _enum(EvidenceKind, row["evidence_kind"], where, "evidence_kind",
                              problems)
    if problems or kind is None or form is None or given_at is None:
        return None, problems
    return ConsentRow(line, patient_id, phone, kind, form, given_at, evidence_kind,
                      row.get("evidence_ref") or None), []


E = TypeVar("E", ConsentKind, ConsentForm, EvidenceKind)


def _enum(
    cls: type[E], raw: str, where: str, field: str, problems: list[ImportProblem]
) -> E | None:
    try:
        return cls(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        problems.append(ImportProblem(where, field, f"must be one of {allowed}"))
        return None
