"""The state of one call between turns, as plain data that round-trips through JSON.

It holds PHI (what the caller claimed, the caller's number, the facts the disclosure guard
watches for), so the store seals the JSON under the call's own data key; nothing of it is
kept in process memory between turns, so any worker can serve the next turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from carecall.calls.rules import Claims


@dataclass
class Watched:
    """What the guard compares each utterance with, for one patient the call touched."""

    names: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    dob: str | None = None
    phones: list[str] = field(default_factory=list)


@dataclass
class CallState:
    call_id: str
    tenant_id: str
    direction: str
    caller_number: str
    practice_number: str
    phase: str = "opening"
    asked: str = ""
    recording: str = "off"  # off | asking | on | declined | stopped
    consent_asks: int = 0
    silences: int = 0
    unclear: int = 0
    failures: int = 0
    locked: bool = False
    third_party: bool = False
    claims: Claims = field(default_factory=Claims)
    verified: str | None = None
    verified_with: list[str] = field(default_factory=list)
    billing_verified: bool = False
    pending: str | None = None
    appointment: str | None = None
    offered: list[str] = field(default_factory=list)
    followup_index: int = 0
    outbound_patient: str | None = None
    outbound_purpose: str | None = None
    outbound_appointment: str | None = None
    outbound_first_name: str | None = None
    watched: dict[str, Watched] = field(default_factory=dict)
    last_question: str = ""
    outcome: str | None = None
    status: str = "in_progress"
    turns: int = 0
    #: The last transcript / event sequence numbers used (None: a state sealed before these
    #: counters existed; the store then asks the table once).
    turn_seq: int | None = None
    event_seq: int | None = None

    def to_bytes(self) -> bytes:
        # Shallow field reads instead of ``asdict`` (which deep-copies every list on every
        # turn); the JSON is the same.
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in _FIELDS}
        data["claims"] = {f.name: _plain(getattr(self.claims, f.name)) for f in _CLAIM_FIELDS}
        data["watched"] = {k: {f.name: getattr(w, f.name) for f in _WATCHED_FIELDS}
                           for k, w in self.watched.items()}
        return json.dumps(data, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> CallState:
        data: dict[str, Any] = json.loads(raw.decode("utf-8"))
        claims = data.pop("claims")
        for key in ("dob", "last_visit"):
            if claims.get(key):
                claims[key] = date.fromisoformat(claims[key])
        watched = {k: Watched(**v) for k, v in data.pop("watched").items()}
        return cls(claims=Claims(**claims), watched=watched, **data)


_FIELDS = fields(CallState)
_CLAIM_FIELDS = fields(Claims)
_WATCHED_FIELDS = fields(Watched)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
