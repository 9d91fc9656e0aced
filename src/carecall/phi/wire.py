"""The JSON shapes of the ``carecall phi`` command-line contract, parsed and checked."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from carecall.core.errors import InvalidInput
from carecall.phi.model import DetectContext, KnownIdentifiers


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"context.known.{field} must be a list of strings")
    return tuple(value)


def parse_context(raw: Any) -> DetectContext | None:
    """``{"previous_agent_text": str?, "known": {"names": [...], "dob": "YYYY-MM-DD",
    "phones": [...]}?}``; absent or null means no context."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput("context must be an object")
    previous = raw.get("previous_agent_text")
    if previous is not None and not isinstance(previous, str):
        raise InvalidInput("context.previous_agent_text must be a string")
    known_raw = raw.get("known")
    known = KnownIdentifiers()
    if known_raw is not None:
        if not isinstance(known_raw, dict):
            raise InvalidInput("context.known must be an object")
        dob_raw = known_raw.get("dob")
        dob = None
        if dob_raw is not None:
            if not isinstance(dob_raw, str):
                raise InvalidInput("context.known.dob must be a YYYY-MM-DD string")
            try:
                dob = date.fromisoformat(dob_raw)
            except ValueError:
                raise InvalidInput("context.known.dob must be a YYYY-MM-DD date") from None
        known = KnownIdentifiers(
            names=_strings(known_raw.get("names"), "names"),
            dob=dob,
            phones=_strings(known_raw.get("phones"), "phones"),
        )
    return DetectContext(previous_agent_text=previous, known=known)


def parse_line(line: str) -> tuple[Any, str, DetectContext | None]:
    """One input line: (id, text, context). Raises InvalidInput for a malformed line."""
    try:
        obj = json.loads(line)
    except ValueError:
        raise InvalidInput("line is not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidInput("line must be a JSON object")
    ident = obj.get("id")
    if ident is not None and not isinstance(ident, str | int):
        raise InvalidInput("id must be a string or a number")
    text = obj.get("text")
    if not isinstance(text, str):
        raise InvalidInput("text is missing or not a string")
    return ident, text, parse_context(obj.get("context"))
