"""An audit event: who did what to which resource, why, and how it ended. Never a PHI value."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Outcome = Literal["success", "denied", "failure"]
Severity = Literal["info", "warning", "high"]

#: Values allowed in ``details``: codes, counts and flags, never free text about a person.
DetailValue = str | int | bool | list[str]


@dataclass(frozen=True)
class AuditEvent:
    actor: str
    action: str
    resource_type: str
    resource_id: str | None = None
    tenant_id: uuid.UUID | None = None
    purpose: str | None = None
    outcome: Outcome = "success"
    severity: Severity = "info"
    request_id: str | None = None
    details: dict[str, DetailValue] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    """A stored event, with its canonical bytes and (once sequenced) its log index."""

    entry_id: uuid.UUID
    recorded_at: datetime
    event: AuditEvent
    body: bytes
    log_index: int | None


@dataclass(frozen=True)
class SignedHead:
    """A signed tree head: the C2SP checkpoint text, and the values it commits to."""

    tree_size: int
    root_hash: bytes
    origin: str
    key_name: str
    checkpoint: str
    signed_at: datetime


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 PATH(index, D[0:tree_size]): the leaf at ``log_index`` is in that tree."""

    log_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]
    root_hash: bytes
    entry_id: uuid.UUID | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "entry_id": str(self.entry_id) if self.entry_id else None,
            "index": self.log_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
            "root": self.root_hash.hex(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 PROOF(old_size, D[0:new_size]): the bigger tree extends the smaller one."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root.hex(),
            "new_root": self.new_root.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify_log`` found; ``problems`` name indices and heads, never entry contents."""

    tree_size: int
    entries_checked: int
    heads_checked: int
    nodes_checked: int
    pending: int
    problems: tuple[str, ...]
    #: 2 when a big log was checked in two slices at once (``verify.SPLIT_FROM``).
    slices: int = 1

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verdict = "OK" if self.ok else f"FAILED ({len(self.problems)} problem(s))"
        return (
            f"audit log {verdict}: tree size {self.tree_size}, {self.entries_checked} entries, "
            f"{self.heads_checked} signed heads, {self.nodes_checked} stored nodes checked, "
            f"{self.pending} pending"
        )
