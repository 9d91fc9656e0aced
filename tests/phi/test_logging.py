"""No PHI reaches the log output, whichever way a developer logs a patient record.

Logs through carecall's own configuration (``configure_logging``) into a captured stream, with
the real detector: the record as a dict, as %-args, as ``extra=``, as an f-string, through
structlog as keyword fields, nested, and inside an exception.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import structlog

from carecall.phi import logging as phi_logging
from carecall.phi.logging import (
    MASK,
    PhiScrubFilter,
    configure_logging,
    is_sensitive_key,
    scrub_processor,
    scrub_text,
    scrub_value,
)

PATIENT = {
    "first_name": "Rosalind",
    "last_name": "Okonkwo",
    "dob": "1950-03-04",
    "phone": "(614) 555-0142",
    "email": "rosalind.okonkwo@example.org",
    "address": "4578 Prospect Avenue, Boise, ID 83702",
    "ssn": "123-45-6789",
    "mrn": "MR4829133",
    "member_id": "W938271640",
}
# Every piece of PHI that must not be seen, including fragments of the values.
FORBIDDEN = ["Rosalind", "Okonkwo", "1950", "03/04", "555-0142", "5550142",
             "rosalind.okonkwo", "4578 Prospect", "Boise", "83702", "123-45-6789", "6789",
             "4829133", "938271640"]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory())
    configure_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.setLogRecordFactory(saved[2])
        structlog.reset_defaults()


def assert_clean(output: str) -> None:
    leaks = [v for v in FORBIDDEN if v.lower() in output.lower()]
    assert leaks == [], f"PHI in log output: {leaks}\n{output}"


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def fstring(p: dict[str, str]) -> str:
    return (f"Patient {p['first_name']} {p['last_name']}, DOB {p['dob']}, phone {p['phone']}, "
            f"email {p['email']}, lives at {p['address']}, SSN {p['ssn']}, MRN {p['mrn']}, "
            f"member ID {p['member_id']}")


def test_stdlib_logging_of_a_patient_record_leaks_nothing(captured: io.StringIO) -> None:
    log = logging.getLogger("carecall.test.records")
    log.info("loaded patient %s", PATIENT)
    log.info("loaded %(first_name)s %(last_name)s", PATIENT)
    log.info(fstring(PATIENT))
    log.warning("verification failed", extra={"patient": PATIENT, "attempts": 3})
    log.info("caller said %s", "my name is rosalind okonkwo and my birthday is "
             "march fourth nineteen fifty")
    try:
        raise ValueError(f"no chart for {PATIENT['first_name']} {PATIENT['last_name']} "  # noqa: TRY301
                         f"born {PATIENT['dob']}")
    except ValueError:
        log.exception("lookup failed")
    out = captured.getvalue()
    assert_clean(out)
    lines = json_lines(out)
    assert len(lines) == 6
    assert lines[3]["attempts"] == 3  # non-PHI structure survives
    assert lines[3]["event"] == "verification failed"
    assert "ValueError" in str(lines[5].get("exception"))
    assert all("timestamp" in ln and "level" in ln for ln in lines)


def test_structlog_logging_of_a_patient_record_leaks_nothing(captured: io.StringIO) -> None:
    log = structlog.get_logger("carecall.test.structured")
    log.info("patient loaded", **PATIENT)
    log.info("patient loaded", patient=PATIENT, visits=[{"when": "2024-06-14", "dr": "Smith"}])
    log.info(fstring(PATIENT))
    log.info("record", record=json.dumps(PATIENT))
    try:
        raise KeyError(PATIENT["ssn"])  # noqa: TRY301
    except KeyError:
        log.exception("lookup failed", caller=PATIENT["phone"])
    out = captured.getvalue()
    assert_clean(out)
    lines = json_lines(out)
    assert len(lines) == 5
    assert lines[0]["first_name"] == MASK
    assert lines[0]["event"] == "patient loaded"
    assert lines[0]["logger"] == "carecall.test.structured"


def test_sensitive_keys_are_masked_whatever_the_value() -> None:
    assert scrub_value({"dob": "n/a", "patient_phone": 1, "caller_zip": "x", "count": 2}) == {
        "dob": MASK, "patient_phone": MASK, "caller_zip": MASK, "count": 2}
    assert is_sensitive_key("First-Name")
    assert is_sensitive_key("patientDOB".replace("DOB", "_dob"))
    assert not is_sensitive_key("duration_ms")
    assert not is_sensitive_key("tenant_id")


def test_text_without_phi_is_unchanged() -> None:
    msg = "call finished after 42 seconds, 2 turns, press 1 chosen"
    assert scrub_text(msg) == msg


def test_detector_failure_withholds_the_string(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def detect(self, text: str) -> list[object]:
            raise RuntimeError(text)

    monkeypatch.setattr(phi_logging, "_detector", Broken)
    assert scrub_text("Rosalind") == phi_logging.WITHHELD


def test_filter_and_processor_work_on_their_own() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("Rosalind Okonkwo",),
                               None)
    record.ssn = "123-45-6789"
    assert PhiScrubFilter().filter(record)
    assert "Rosalind" not in record.getMessage()
    assert record.ssn == MASK
    event = scrub_processor(None, "info", {"event": "hi", "email": "a@b.org", "level": "info"})
    assert event == {"event": "hi", "email": MASK, "level": "info"}


def test_keyed_values_in_reprs_and_json_text_are_masked() -> None:
    @dataclass
    class Patient:
        first_name: str
        dob: date
        visits: int

    text = scrub_text(repr(Patient("Rosalind", date(1950, 3, 4), 2)))
    assert "Rosalind" not in text
    assert "1950" not in text
    assert "3, 4" not in text
    assert "visits=2" in text
    assert scrub_text(json.dumps({"last_name": "Okonkwo", "count": 3})) == (
        '{"last_name": "[REDACTED]", "count": 3}')
