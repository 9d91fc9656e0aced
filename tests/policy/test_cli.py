"""``carecall policy check``: the JSON Lines contract, through a real process and stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest

from carecall.cli.policy import check_stream

LINE: dict[str, Any] = {
    "id": "c1",
    "now": "2026-12-01T18:00:00Z",
    "tenant": {"name": "Riverside Family Practice", "contact_phone": "+15035550100",
               "baa_active": True, "permitted_purposes": ["appointment_reminder"]},
    "contact": {"phone": "+15035550123", "line_type": "wireless", "provided_by_patient": True,
                "timezone": "America/Los_Angeles",
                "consents": [{"kind": "text_messages", "form": "written",
                              "given_at": "2026-01-01T00:00:00Z", "revoked_at": None}],
                "opt_outs": [], "on_internal_dnc": False,
                "patient": {"first_name": "Maria", "last_name": "Gonzalez",
                            "dob": "1980-04-02"}},
    "history": [],
    "message": {"channel": "sms", "purpose": "appointment_reminder", "automated": True,
                "text": "Riverside Family Practice: reminder of your appointment tomorrow "
                        "at 10:00 AM. Reply STOP to opt out."},
}


def _with(path: str, value: Any, base: dict[str, Any] = LINE) -> dict[str, Any]:
    line = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    target = line
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return line


_DELETE = object()


def _run(lines: list[str]) -> tuple[int, list[dict[str, Any]]]:
    sink = io.StringIO()
    code = check_stream(io.StringIO("\n".join(lines) + "\n"), sink)
    return code, [json.loads(x) for x in sink.getvalue().splitlines()]


def test_contract_through_a_real_process() -> None:
    lines = [
        json.dumps(LINE),
        json.dumps(_with("history", [{"channel": "voice", "at": "2026-12-01T16:30:00Z",
                                      "purpose": "appointment_reminder"}], _with("id", "c2"))),
        "{not json",
        "",
        json.dumps(_with("now", "2026-12-01T18:00:00", _with("id", "c4"))),
        json.dumps(_with("contact.on_internal_dnc", True, _with("id", "c5"))),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "carecall", "policy", "check"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60, check=False,
    )
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert proc.returncode == 2, proc.stderr
    assert out == [
        {"id": "c1", "decision": "allow", "reasons": [], "retry_after": None},
        {"id": "c2", "decision": "deny", "reasons": ["DAILY_LIMIT"],
         "retry_after": "2026-12-02T16:00:00Z"},
        {"id": None, "error": "line is not valid JSON"},
        {"id": "c4", "error": "now has no UTC offset; it must be an ISO-8601 time with Z or an "
                              "offset, e.g. 2026-12-01T15:00:00Z"},
        {"id": "c5", "decision": "deny", "reasons": ["DNC"], "retry_after": None},
    ]
    assert "Traceback" not in proc.stderr


def test_all_good_lines_exit_zero() -> None:
    code, out = _run([json.dumps(LINE), json.dumps(_with("id", 7)), json.dumps(_with("id", 1.5)),
                      json.dumps(_with("id", _DELETE))])
    assert code == 0
    assert [o["id"] for o in out] == ["c1", 7, 1.5, None]


def test_optional_fields_may_be_left_out() -> None:
    minimal = _with("history", _DELETE, _with("contact.patient", _DELETE))
    for key in ("opt_outs", "on_internal_dnc"):
        minimal = _with(f"contact.{key}", _DELETE, minimal)
    minimal = _with("message.automated", _DELETE, minimal)  # defaults to automated
    code, out = _run([json.dumps(minimal)])
    assert (code, out[0]["decision"]) == (0, "allow")


def test_the_appointments_own_date_goes_through_with_or_without_appointment_at() -> None:
    text = ("Riverside Family Practice: reminder of your appointment Thu Dec 3 at 10:00 AM. "
            "Reply STOP to opt out.")
    line = _with("message.text", text)
    other_day = _with("message.text", text.replace("Dec 3", "Dec 9"), line)
    code, out = _run([json.dumps(line),
                      json.dumps(_with("message.appointment_at", "2026-12-03T10:00:00-08:00",
                                       line)),
                      json.dumps(_with("message.appointment_at", "2026-12-03T10:00:00-08:00",
                                       other_day))])
    assert code == 0
    assert [o["decision"] for o in out[:2]] == ["allow", "allow"]
    assert out[2]["reasons"] == ["CONTENT_HAS_IDENTIFIERS"]


def test_tenant_limits_above_the_fccs_are_clamped() -> None:
    history = [{"channel": "sms", "at": "2026-12-01T16:30:00Z"}]
    line = _with("tenant.daily_limit", 5, _with("history", history))
    code, out = _run([json.dumps(line)])
    assert (code, out[0]["reasons"]) == (0, ["DAILY_LIMIT"])


@pytest.mark.parametrize(("path", "value", "message"), [
    ("tenant", _DELETE, "tenant must be a JSON object"),
    ("tenant.baa_active", "yes", "tenant.baa_active must be true or false"),
    ("tenant.permitted_purposes", "appointment_reminder",
     "tenant.permitted_purposes must be a list"),
    ("tenant.daily_limit", -1, "tenant.daily_limit must be a whole number of contacts"),
    ("tenant.weekly_limit", 2.5, "tenant.weekly_limit must be a whole number of contacts"),
    ("tenant.contact_phone", "call us", "tenant.contact_phone must be an E.164 number"),
    ("contact.phone", _DELETE, "contact.phone is missing"),
    ("contact.line_type", "pager", "contact.line_type must be one of wireless|landline"),
    ("contact.timezone", "Mars/Base", "contact.timezone is not a known IANA time zone"),
    ("contact.consents", [{"kind": "text_messages", "form": "written"}],
     "contact.consents[0].given_at is missing"),
    ("contact.consents", [{"kind": "texts", "form": "written", "given_at": "2026-01-01T00:00Z"}],
     "contact.consents[0].kind must be one of automated_calls|text_messages|recording"),
    ("contact.opt_outs", [{"at": "yesterday", "channel": "sms"}],
     "contact.opt_outs[0].at must be an ISO-8601 time"),
    ("contact.patient", {"dob": "04/02/1980"}, "contact.patient.dob must be a YYYY-MM-DD date"),
    ("history", [{"channel": "fax", "at": "2026-12-01T16:30:00Z"}],
     "history[0].channel must be one of voice|sms"),
    ("message.channel", _DELETE, "message.channel is missing"),
    ("message.text", 42, "message.text must be a string"),
    ("message.max_duration_s", "60", "message.max_duration_s must be a number of seconds"),
    ("id", {"x": 1}, "id must be a string or a number"),
])
def test_malformed_lines_say_what_is_wrong(path: str, value: Any, message: str) -> None:
    code, out = _run([json.dumps(_with(path, value)), json.dumps(LINE)])
    assert code == 2
    assert set(out[0]) == {"id", "error"}
    assert out[0]["error"].startswith(message), out[0]["error"]
    assert out[0]["id"] == (None if path == "id" else "c1")
    assert out[1]["decision"] == "allow"  # the rest go on


def test_a_line_that_is_not_an_object() -> None:
    code, out = _run(["[1, 2]", "null"])
    assert code == 2
    assert out == [{"id": None, "error": "line must be a JSON object"}] * 2


def test_error_messages_carry_no_patient_data() -> None:
    line = _with("contact.patient", {"first_name": "Maria", "dob": "1980-02-30"})
    code, out = _run([json.dumps(line)])
    assert code == 2
    assert "Maria" not in out[0]["error"]
    assert "1980" not in out[0]["error"]
