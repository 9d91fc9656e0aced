"""The JSON shapes of the ``carecall policy check`` contract, parsed, checked and written.

Unknown keys are ignored (so the contract can grow); a missing or wrong required field is an
``InvalidInput`` naming the field and what it must be. Times are ISO-8601 with ``Z`` or an
offset: a time without one is refused, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import phonenumbers

from carecall.core.errors import InvalidInput
from carecall.policy.hours import zone
from carecall.policy.model import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    Message,
    OptOut,
    PastContact,
    PatientFacts,
    PolicyDecision,
    PolicyRequest,
    TenantFacts,
)

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

_MISSING = object()


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be a JSON object")
    return value


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(obj: dict[str, Any], key: str, where: str, required: bool) -> Any:
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise InvalidInput(f"{_at(where, key)} is missing")
        return None
    return value


def _str(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = _get(obj, key, where, required)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{_at(where, key)} must be a string")
    return value


def _bool(obj: dict[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = _get(obj, key, where, default is None)
    if value is None:
        assert default is not None
        return default
    if not isinstance(value, bool):
        raise InvalidInput(f"{_at(where, key)} must be true or false")
    return value


def _time(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> datetime | None:
    value = _get(obj, key, where, required)
    if value is None:
        return None
    hint = "an ISO-8601 time with Z or an offset, e.g. 2026-12-01T15:00:00Z"
    if not isinstance(value, str):
        raise InvalidInput(f"{_at(where, key)} must be {hint}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{_at(where, key)} must be {hint}") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{_at(where, key)} has no UTC offset; it must be {hint}")
    return parsed.astimezone(UTC)


def _enum(obj: dict[str, Any], key: str, where: str, kind: type[E]) -> E:
    value = _get(obj, key, where, True)
    try:
        return kind(value)
    except ValueError:
        allowed = "|".join(m.value for m in kind)
        raise InvalidInput(f"{_at(where, key)} must be one of {allowed}") from None


def _limit(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = _get(obj, key, where, False)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{_at(where, key)} must be a whole number of contacts (0 or more)")
    return value


def _list(obj: dict[str, Any], key: str, where: str,
          item: Callable[[Any, str], T]) -> tuple[T, ...]:
    value = _get(obj, key, where, False)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInput(f"{_at(where, key)} must be a list")
    return tuple(item(v, f"{_at(where, key)}[{i}]") for i, v in enumerate(value))


def _phone(obj: dict[str, Any], key: str, where: str) -> str:
    value = _str(obj, key, where)
    assert value is not None
    try:
        phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(
            f"{_at(where, key)} must be an E.164 number such as +15035550100") from None
    return value


def _purpose_list(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string")
    return value


def _tenant(raw: Any) -> TenantFacts:
    obj = _obj(raw, "tenant")
    name = _str(obj, "name", "tenant")
    assert name is not None
    return TenantFacts(
        name=name,
        contact_phone=_phone(obj, "contact_phone", "tenant"),
        baa_active=_bool(obj, "baa_active", "tenant"),
        permitted_purposes=frozenset(_list(obj, "permitted_purposes", "tenant", _purpose_list)),
        daily_limit=_limit(obj, "daily_limit", "tenant"),
        weekly_limit=_limit(obj, "weekly_limit", "tenant"),
    )


def _consent(raw: Any, where: str) -> Consent:
    obj = _obj(raw, where)
    given = _time(obj, "given_at", where)
    assert given is not None
    return Consent(
        kind=_enum(obj, "kind", where, ConsentKind),
        form=_enum(obj, "form", where, ConsentForm),
        given_at=given,
        revoked_at=_time(obj, "revoked_at", where, required=False),
    )


def _opt_out(raw: Any, where: str) -> OptOut:
    obj = _obj(raw, where)
    at = _time(obj, "at", where)
    assert at is not None
    return OptOut(at=at, channel=_enum(obj, "channel", where, Channel))


def _past(raw: Any, where: str) -> PastContact:
    obj = _obj(raw, where)
    at = _time(obj, "at", where)
    assert at is not None
    return PastContact(channel=_enum(obj, "channel", where, Channel), at=at,
                       purpose=_str(obj, "purpose", where, required=False) or "")


def _patient(raw: Any) -> PatientFacts:
    if raw is None:
        return PatientFacts()
    where = "contact.patient"
    obj = _obj(raw, where)
    dob_raw = _str(obj, "dob", where, required=False)
    dob = None
    if dob_raw is not None:
        try:
            dob = date.fromisoformat(dob_raw)
        except ValueError:
            raise InvalidInput(f"{where}.dob must be a YYYY-MM-DD date") from None
    return PatientFacts(first_name=_str(obj, "first_name", where, required=False),
                        last_name=_str(obj, "last_name", where, required=False), dob=dob)


def _contact(raw: Any) -> ContactFacts:
    obj = _obj(raw, "contact")
    timezone = _str(obj, "timezone", "contact", required=False)
    if timezone is not None:
        try:
            zone(timezone)
        except InvalidInput:
            raise InvalidInput("contact.timezone is not a known IANA time zone; use a name "
                               "such as 'America/New_York', or null") from None
    return ContactFacts(
        phone=_phone(obj, "phone", "contact"),
        line_type=_enum(obj, "line_type", "contact", LineType),
        provided_by_patient=_bool(obj, "provided_by_patient", "contact"),
        timezone=timezone,
        consents=_list(obj, "consents", "contact", _consent),
        opt_outs=_list(obj, "opt_outs", "contact", _opt_out),
        on_internal_dnc=_bool(obj, "on_internal_dnc", "contact", default=False),
        patient=_patient(obj.get("patient")),
    )


def _message(raw: Any) -> Message:
    obj = _obj(raw, "message")
    purpose = _str(obj, "purpose", "message")
    assert purpose is not None
    duration = _get(obj, "max_duration_s", "message", False)
    if duration is not None and (isinstance(duration, bool)
                                 or not isinstance(duration, int | float) or duration < 0):
        raise InvalidInput("message.max_duration_s must be a number of seconds (0 or more)")
    return Message(
        channel=_enum(obj, "channel", "message", Channel),
        purpose=purpose,
        automated=_bool(obj, "automated", "message", default=True),
        text=_str(obj, "text", "message", required=False) or "",
        max_duration_s=float(duration) if duration is not None else None,
        appointment_at=_time(obj, "appointment_at", "message", required=False),
    )


def parse_request(obj: Any) -> tuple[Any, PolicyRequest]:
    """One decoded input line: (id, request). Raises InvalidInput when malformed."""
    if not isinstance(obj, dict):
        raise InvalidInput("line must be a JSON object")
    ident = obj.get("id")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, str | int | float)):
        raise InvalidInput("id must be a string or a number")
    now = _time(obj, "now", "")
    assert now is not None
    request = PolicyRequest(
        now=now,
        tenant=_tenant(obj.get("tenant")),
        contact=_contact(obj.get("contact")),
        message=_message(obj.get("message")),
        history=_list(obj, "history", "", _past),
    )
    return ident, request


def parse_line(line: str) -> tuple[Any, PolicyRequest]:
    try:
        obj = json.loads(line)
    except ValueError:
        raise InvalidInput("line is not valid JSON") from None
    return parse_request(obj)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(ident: Any, decision: PolicyDecision) -> dict[str, Any]:
    return {
        "id": ident,
        "decision": decision.decision,
        "reasons": list(decision.codes),
        "retry_after": iso(decision.retry_after) if decision.retry_after else None,
    }
