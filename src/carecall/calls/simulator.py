"""The ``carecall call script`` runner: scripted calls in throw-away stores.

Each script gets its own SQLite file and key file in a temporary directory (copied from one
migrated template), a practice with an active BAA for every purpose unless ``baa_active`` is
false, and its patients imported through the normal services; the call then runs through the
same ``start_call``/``take_turn``/``end_call`` a telephone channel uses. Nothing touches the
user's data. Events carry the script's own refs (``p1``, ``a1``) instead of ids.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from carecall.access.model import Principal
from carecall.app import Carecall, open_app
from carecall.calls import service
from carecall.calls.brain import CallProfile
from carecall.calls.model import CallerInput, OutboundRequest, Step
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.errors import CarecallError, InvalidInput
from carecall.core.ids import new_id
from carecall.crypto.providers import create_local_kek
from carecall.patients import service as patients
from carecall.patients.model import (
    Address,
    AppointmentInput,
    Invoice,
    LabResultInput,
    PatientInput,
    PrescriptionInput,
)
from carecall.store import migrate
from carecall.store.db import Database
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant, terminate_baa

SCRIPT = Principal.system("call-script")
_TOKEN = re.compile(r"^<(dtmf):([0-9*#]+)>$|^<(silence|voicemail)>$")
TURN_SECONDS = 5


class Workspace:
    """One migrated template database, copied for each script."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="carecall-script-"))
        self._template = self._dir / "template.db"
        db = Database(f"sqlite:///{self._template}")
        migrate.upgrade(db.engine)
        db.dispose()
        self._count = 0

    def fresh(self, now: datetime) -> Carecall:
        self._count += 1
        data = self._dir / f"s{self._count}"
        data.mkdir()
        shutil.copyfile(self._template, data / "carecall.db")
        settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'carecall.db'}")
        create_local_kek(settings.kek_path)
        return open_app(settings, clock=FixedClock(now))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _need(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise InvalidInput(f"{where}.{key} is missing or not a {kind.__name__}")
    return value


def _when(text: Any, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{where} needs a time zone offset")
    return value


def _day(text: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(f"{where} is not a YYYY-MM-DD date") from None


def caller_input(entry: Any) -> CallerInput:
    if not isinstance(entry, str):
        raise InvalidInput("caller entries must be strings")
    match = _TOKEN.match(entry.strip())
    if match is None:
        return CallerInput.speech(entry)
    if match.group(1):
        return CallerInput.dtmf(match.group(2))
    return CallerInput(match.group(3))  # type: ignore[arg-type]


def _patient(data: dict[str, Any], where: str) -> PatientInput:
    address = data.get("address")
    billing = data.get("billing") or {}
    try:
        invoices = tuple(Invoice(number=str(i["number"]), balance=Decimal(str(i["balance"])))
                         for i in billing.get("invoices", []))
    except (KeyError, InvalidOperation, TypeError):
        raise InvalidInput(f"{where}.billing.invoices need number and balance") from None
    return PatientInput(
        first_name=_need(data, "first_name", str, where),
        last_name=_need(data, "last_name", str, where),
        dob=_day(data.get("dob"), f"{where}.dob"),
        phones=(data["phone"],) if data.get("phone") else (),
        address=Address(line1=str(address.get("line1", "")), city=str(address.get("city", "")),
                        state=str(address.get("state", "")), zip=str(address.get("zip", "")))
        if isinstance(address, dict) else None,
        last_date_of_service=_day(billing["last_date_of_service"], f"{where}.billing")
        if billing.get("last_date_of_service") else None,
        invoices=invoices,
        appointments=tuple(
            AppointmentInput(start=_when(a.get("start"), f"{where}.appointments.start"),
                             provider=str(a.get("provider", "")),
                             location=str(a.get("location", "")),
                             status=a.get("status", "booked"))
            for a in data.get("appointments", [])),
        prescriptions=tuple(PrescriptionInput(name=str(p["name"]), status=p.get("status",
                                                                                  "pending"))
                            for p in data.get("prescriptions", [])),
        lab_results=tuple(LabResultInput(name=str(lab.get("name", "lab")),
                                         status=lab.get("status", "pending"))
                          for lab in data.get("labs", [])),
    )


class _Refs:
    def __init__(self) -> None:
        self.patients: dict[str, str] = {}
        self.appointments: dict[str, str] = {}

    def rename(self, fields: dict[str, Any]) -> dict[str, Any]:
        out = dict(fields)
        if "patient" in out and out["patient"] in self.patients:
            out["patient"] = self.patients[out["patient"]]
        if "appointment" in out and out["appointment"] in self.appointments:
            out["appointment"] = self.appointments[out["appointment"]]
        return out


def _setup(app: Carecall, script: dict[str, Any], refs: _Refs) -> tuple[Tenant, dict[str, Any]]:
    spec = _need(script, "tenant", dict, "script")
    contact = _need(spec, "contact_phone", str, "tenant")
    tenant = create_tenant(app, SCRIPT, Tenant(
        id=new_id(), slug="scripted", display_name=_need(spec, "name", str, "tenant"),
        contact_phone=contact, timezone=spec.get("timezone", "America/New_York"),
        agent_name=spec.get("agent_name", "Ava"),
        phone_numbers=tuple(spec.get("phone_numbers") or (contact,)),
        recording_mode=spec.get("recording", "off"),
        retain_raw_transcripts=bool(spec.get("retain_raw_transcripts", False)),
        staff_phone=spec.get("staff_phone")))
    today = app.clock.now().date()
    baa = add_baa(app, SCRIPT, tenant.id, effective_on=today - timedelta(days=30),
                  expires_on=today + timedelta(days=365), signed_by="scripted",
                  purposes=frozenset(Purpose))
    service.add_open_slots(app, SCRIPT, tenant.id,
                           [_when(s, "tenant.slots") for s in spec.get("slots", [])])
    service.set_call_profile(app, SCRIPT, tenant.id, CallProfile(
        hours=spec.get("hours"), directions=spec.get("directions"),
        instructions=dict(spec.get("instructions") or {}),
        followup_questions=tuple(spec.get("followup_questions") or ())))
    people = script.get("patients") or []
    if not isinstance(people, list):
        raise InvalidInput("patients must be a list")
    inputs = [_patient(p, f"patients[{i}]") for i, p in enumerate(people)]
    ids = patients.import_patients(app, SCRIPT, tenant.id, inputs, source="script")
    ids_by_ref: dict[str, Any] = {}
    for spec_p, pid in zip(people, ids, strict=True):
        ref = str(spec_p.get("ref", pid))
        refs.patients[str(pid)] = ref
        ids_by_ref[ref] = {"id": pid, "appointments": {}}
        stored = patients.get_patient(app, SCRIPT, tenant.id, pid, Purpose.PATIENT_SUPPORT)
        for a_spec in spec_p.get("appointments", []):
            start = _when(a_spec.get("start"), "appointment.start")
            match = next((a for a in stored.appointments if a.start == start
                          and str(a.id) not in refs.appointments), None)
            if match is not None and a_spec.get("ref"):
                refs.appointments[str(match.id)] = str(a_spec["ref"])
                ids_by_ref[ref]["appointments"][str(a_spec["ref"])] = match.id
    if spec.get("baa_active", True) is False:
        # The records were loaded under a BAA that has since ended: nothing may be read now.
        terminate_baa(app, SCRIPT, tenant.id, baa.id)
    return tenant, ids_by_ref


def run_script(workspace: Workspace, script: Any) -> dict[str, Any]:
    """One scripted call to its result line (or an error line; nothing raised)."""
    sid = script.get("id") if isinstance(script, dict) else None
    try:
        if not isinstance(script, dict):
            raise InvalidInput("a script must be a JSON object")
        now = _when(script.get("now", "2026-11-30T15:00:00Z"), "now")
        app = workspace.fresh(now)
        try:
            return {"id": sid, **_run(app, script)}
        finally:
            app.close()
    except CarecallError as exc:
        return {"id": sid, "error": exc.message}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return {"id": sid, "error": f"malformed script ({type(exc).__name__})"}


def _timeline(step: Step, refs: _Refs) -> Iterator[dict[str, Any]]:
    at = step.spoken_at if step.spoken_at is not None else len(step.events)
    for event in step.events[:at]:
        yield {"event": event.kind, **refs.rename(event.fields)}
    if step.say:
        yield {"speaker": "agent", "text": step.say}
    for event in step.events[at:]:
        yield {"event": event.kind, **refs.rename(event.fields)}


def _run(app: Carecall, script: dict[str, Any]) -> dict[str, Any]:
    refs = _Refs()
    tenant, ids = _setup(app, script, refs)
    call = _need(script, "call", dict, "script")
    caller = script.get("caller") or []
    if not isinstance(caller, list):
        raise InvalidInput("caller must be a list of strings")
    inputs = [caller_input(c) for c in caller]
    ref = f"sim-{uuid.uuid4().hex[:16]}"
    clock = app.clock
    assert isinstance(clock, FixedClock)
    if call.get("direction") == "outbound":
        who = ids.get(str(call.get("patient")))
        if who is None:
            raise InvalidInput("call.patient names no scripted patient")
        appointment = who["appointments"].get(str(call.get("appointment"))) if call.get(
            "appointment") else None
        purpose = str(call.get("purpose", "appointment_reminder"))
        if purpose not in {p.value for p in Purpose}:
            raise InvalidInput("call.purpose is not a known purpose")
        target = patients.get_patient(app, SCRIPT, tenant.id, who["id"], Purpose(purpose))
        step = service.start_call(
            app, tenant_id=tenant.id, direction="outbound", from_number=tenant.contact_phone,
            to_number=target.phones[0] if target.phones else "+10000000000",
            channel_ref=ref, outbound=OutboundRequest(who["id"], purpose, appointment))
    elif call.get("direction") == "inbound":
        step = service.start_call(
            app, tenant_id=tenant.id, direction="inbound",
            from_number=str(call.get("from", "")), to_number=tenant.phone_numbers[0]
            if tenant.phone_numbers else tenant.contact_phone, channel_ref=ref)
    else:
        raise InvalidInput("call.direction must be inbound or outbound")
    timeline = list(_timeline(step, refs))
    for given in inputs:
        if step.ends_call:
            break
        clock.advance(timedelta(seconds=TURN_SECONDS))
        text = given.text if given.kind == "speech" else (
            f"<dtmf:{given.digits}>" if given.kind == "dtmf" else f"<{given.kind}>")
        timeline.append({"speaker": "caller", "text": text})
        step = service.take_turn(app, channel_ref=ref, caller_input=given)
        timeline.extend(_timeline(step, refs))
    outcome = step.outcome
    if outcome is None:
        service.end_call(app, channel_ref=ref, status="completed")
        outcome = "caller_hung_up"
    return {"outcome": outcome, "timeline": timeline}
