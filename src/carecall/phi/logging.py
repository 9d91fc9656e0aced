"""Logs without PHI: a stdlib logging filter, a structlog processor and carecall's log setup.

Log lines are read by operators, shipped to log stores and kept for months, none of which is
entitled to PHI (45 CFR 164.502(b), minimum necessary; 164.312(b), audit controls must not
become a disclosure). Two defences run on every record:

- by field name: values under keys such as ``first_name``, ``dob``, ``phone``, ``ssn`` or
  ``mrn`` are masked whatever they hold, because a key says what a value is even when the
  detector could not tell (a bare "1950-03-04" or "Rosa");
- by content: every string (the message, its %-args, every structured field, exception text)
  is passed through the PHI detector and each identifier replaced by its ``[LABEL]`` tag.

If the detector fails on a string, the string is withheld rather than logged (fail closed).
The detector is imported lazily so that importing this module stays cheap and cycle-free.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from datetime import date, datetime
from functools import lru_cache
from typing import IO, Any, Protocol

import structlog

from carecall.core.errors import ConfigError

MASK = "[REDACTED]"
WITHHELD = "[withheld: PHI scrubber failed]"

#: Field names whose values are masked whatever they are.
SENSITIVE_KEYS = frozenset({
    "name", "first_name", "last_name", "middle_name", "full_name", "given_name",
    "family_name", "surname", "maiden_name", "patient_name", "caller_name", "guarantor_name",
    "dob", "date_of_birth", "birth_date", "birthdate", "birthday",
    "phone", "phone_number", "mobile", "cell", "fax", "telephone", "from_number", "to_number",
    "email", "email_address", "address", "street", "street_address", "address_line1",
    "address_line2", "city", "county", "zip", "zip_code", "zipcode", "postal_code",
    "ssn", "social_security_number", "ssn_last4", "mrn", "medical_record_number",
    "member_id", "subscriber_id", "group_number", "policy_number", "medicare_id",
    "medicaid_id", "account_number", "card_number", "invoice_number", "license_number",
    "drivers_license", "vin", "license_plate", "device_serial", "ip", "ip_address",
    "transcript", "utterance", "speech", "sms_body", "body",
})
#: A key holding one of these words (``patient_phone``, ``caller_dob``) is masked as well.
SENSITIVE_PARTS = frozenset({
    "ssn", "mrn", "dob", "email", "phone", "address", "zip", "birth", "surname", "firstname",
    "lastname", "fullname",
})
#: Standard LogRecord attributes; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
    # structlog's wrap_for_formatter passes these to its ProcessorFormatter; they hold objects
    "_logger", "_name", "_from_structlog", "_record"}
_SCRUBBED = "_carecall_phi_scrubbed"
_HANDLER_FLAG = "_carecall_phi_handler"
#: structlog keys that carry no PHI by construction and must stay readable.
_STRUCTLOG_SAFE = frozenset({"level", "logger", "timestamp", "log_level"})


class _Detector(Protocol):
    def detect(self, text: str) -> list[Any]: ...


@lru_cache(maxsize=1)
def _detector() -> _Detector:
    from carecall.phi.detector import PhiDetector

    return PhiDetector()


def _normal_key(key: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")


def is_sensitive_key(key: object) -> bool:
    norm = _normal_key(key)
    if norm in SENSITIVE_KEYS:
        return True
    return any(part in SENSITIVE_PARTS for part in norm.split("_"))


_KEYED = re.compile(
    r"""(?P<key>[A-Za-z_][A-Za-z0-9_-]*)(?P<sep>["']?\s*[:=]\s*)"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][\w.]*\([^()]*\)|[^\s,;)}\]]+)""")


def _mask_keyed(match: re.Match[str]) -> str:
    if not is_sensitive_key(match["key"]):
        return match[0]
    val = match["val"]
    quote = val[0] if val[0] in "\"'" else ""
    return f"{match['key']}{match['sep']}{quote}{MASK}{quote}"


def mask_keyed_values(text: str) -> str:
    """Mask values written after a sensitive key in text: dict and dataclass reprs, JSON,
    ``key=value`` pairs (``last_name='Okonkwo'`` -> ``last_name='[REDACTED]'``)."""
    return _KEYED.sub(_mask_keyed, text)


def scrub_text(text: str) -> str:
    """``text`` with keyed values masked and every detected identifier tagged ``[LABEL]``."""
    if not text.strip():
        return text
    try:
        detector = _detector()
    except Exception:  # fail closed: never log what could not be checked
        return WITHHELD
    # Log lines repeat (uvicorn's access log runs every request's method, path, client and
    # HTTP version through here): results are remembered per detector, keyed by a digest of
    # the text so no raw text is kept, holding only scrubbed output. Bounded; cleared when full.
    key = (id(detector), hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                         digest_size=20).digest())
    cached = _SCRUB_CACHE.get(key)
    if cached is not None:
        return cached
    text = mask_keyed_values(text)
    try:
        spans = sorted(detector.detect(text), key=lambda s: s.start)
    except Exception:  # fail closed: never log what could not be checked
        return WITHHELD
    out: list[str] = []
    pos = 0
    for span in spans:
        if span.start < pos:
            continue
        out.append(text[pos:span.start])
        out.append(f"[{span.label}]")
        pos = span.end
    out.append(text[pos:])
    scrubbed = "".join(out)
    if len(_SCRUB_CACHE) >= _SCRUB_CACHE_MAX:
        _SCRUB_CACHE.clear()
    _SCRUB_CACHE[key] = scrubbed
    return scrubbed


_SCRUB_CACHE: dict[tuple[int, bytes], str] = {}
_SCRUB_CACHE_MAX = 8192


def scrub_value(value: Any, key: object = None) -> Any:  # noqa: PLR0911 (one return per type)
    """A copy of ``value`` safe to log: sensitive keys masked, strings scrubbed, recursively."""
    if key is not None and is_sensitive_key(key) and value is not None:
        return MASK
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return MASK  # a date in a log field is a date about someone until shown otherwise
    if isinstance(value, Mapping):
        return {k: scrub_value(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    if isinstance(value, BaseException):
        return scrub_text(f"{type(value).__name__}: {value}")
    return scrub_text(str(value))


class PhiScrubFilter(logging.Filter):
    """Scrubs a stdlib record in place: message with its args, ``extra`` fields, exception.

    Attach it to handlers (a logger's filters do not see records propagated from children).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SCRUBBED, False):
            return True
        if isinstance(record.msg, Mapping):  # a structlog event dict on its way to a formatter
            record.msg = {k: v if k in _STRUCTLOG_SAFE else scrub_value(v, k)
                          for k, v in record.msg.items()}
        else:
            if isinstance(record.args, Mapping):
                record.args = scrub_value(record.args)
            elif record.args:
                record.args = tuple(a if isinstance(a, int | float) else scrub_value(a)
                                    for a in record.args)
            try:
                message = record.getMessage()
            except Exception:  # a broken format string still must not leak its args
                message = f"{record.msg} (unformattable log arguments dropped)"
            record.msg = scrub_text(message)
            record.args = None
        for key in [k for k in vars(record) if k not in _RECORD_ATTRS]:
            setattr(record, key, scrub_value(getattr(record, key), key))
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub_text("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        if "message" in vars(record):  # a formatter already ran: replace its copy too
            record.message = record.getMessage()
        setattr(record, _SCRUBBED, True)
        return True


def _add_extras(_logger: Any, _method: str,
                event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Copy a stdlib record's ``extra=`` fields into the event (already scrubbed)."""
    record = event_dict.get("_record")
    if record is not None:
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key != _SCRUBBED:
                event_dict.setdefault(key, value)
        if record.exc_text:  # the scrubbed traceback (the filter drops exc_info)
            event_dict.setdefault("exception", record.exc_text)
        if record.stack_info:
            event_dict.setdefault("stack", record.stack_info)
    return event_dict


def _install_record_factory() -> None:
    """Scrub every record as it is created, before any handler (ours or not) can see it."""
    current = logging.getLogRecordFactory()
    if getattr(current, _HANDLER_FLAG, False):
        return
    scrubber = PhiScrubFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        scrubber.filter(record)
        return record

    setattr(factory, _HANDLER_FLAG, True)
    logging.setLogRecordFactory(factory)


def scrub_processor(_logger: Any, _method: str,
                    event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: scrub every field of the event (place it after format_exc_info)."""
    for key in list(event_dict):
        if key in _STRUCTLOG_SAFE:
            continue
        event_dict[key] = scrub_value(event_dict[key], None if key == "event" else key)
    return event_dict




def configure_logging(level: int | str = "INFO", stream: IO[str] | None = None) -> None:
    """Route all logging (stdlib and structlog) as JSON lines to stderr through both scrubbers.

    Every stdlib record is scrubbed when it is created (a record factory), so handlers other
    libraries or test runners add see only scrubbed records too; structlog events are scrubbed
    by ``scrub_processor`` before they become records. Idempotent: calling it again replaces
    the handler it installed before and keeps one record factory.
    """
    try:
        _detector()
    except ImportError as exc:
        raise ConfigError("PHI detector is unavailable; logging cannot start safely") from exc
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.format_exc_info,
        scrub_processor,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
        foreign_pre_chain=[_add_extras, *shared],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(PhiScrubFilter())
    setattr(handler, _HANDLER_FLAG, True)
    _install_record_factory()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
