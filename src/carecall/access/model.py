"""Who is acting: the principal every service call carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

PrincipalKind = Literal["user", "api_key", "system"]


@dataclass(frozen=True)
class Assignment:
    """A hand-off assignment: the agent user who took a handed-off call, the patient the
    caller was verified as (None: not verified), and how long it lasts. Ids only."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    call_id: uuid.UUID
    agent_id: uuid.UUID
    patient_id: uuid.UUID | None
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Principal:
    """The acting user, API key or system component, and the tenant it is bound to.

    ``tenant_id`` is None for the operator's own users and for system components; such a
    principal reaches a tenant's data only through an explicit, audited elevation.

    The fields after ``roles`` are filled in by authentication for each request:
    ``permissions`` are an API key's granted actions (users get theirs from their roles),
    ``training_valid_until`` is when the user's HIPAA training lapses (None: never trained),
    ``elevated_until`` is the end of an active break-glass elevation.

    ``patient_scope`` is the one patient a request is about, declared by the door that
    serves it (``guard.for_patient``), with ``assignments``: the user's hand-off
    assignments naming that patient, loaded there. They are what lets an agent act on that
    patient (``rules.on_assignment``); a principal with no scope gets no assignment grant.
    """

    kind: PrincipalKind
    id: str
    tenant_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    training_valid_until: datetime | None = None
    elevated_until: datetime | None = None
    session_id: str | None = None
    patient_scope: uuid.UUID | None = None
    assignments: tuple[Assignment, ...] = ()

    @property
    def actor(self) -> str:
        """How the audit log names this principal (never a person's name)."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def system(cls, component: str) -> Principal:
        """A carecall component acting on its own behalf (the CLI, the sequencer, imports)."""
        return cls(kind="system", id=component, roles=frozenset({"system"}))


@dataclass(frozen=True)
class User:
    """A human login. No name, email or other personal detail beyond the username."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    username: str
    role: str
    password_hash: str | None = None
    totp_secret: bytes | None = None
    totp_confirmed_at: datetime | None = None
    totp_last_step: int | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    disabled_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def enrolled(self) -> bool:
        return self.password_hash is not None and self.totp_confirmed_at is not None


SessionStage = Literal["mfa", "full"]


@dataclass(frozen=True)
class SessionRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    csrf_hash: bytes
    stage: SessionStage
    created_at: datetime
    last_seen_at: datetime
    idle_seconds: int
    revoked_at: datetime | None = None
    elevated_until: datetime | None = None
    elevation_reason: str | None = None


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    tenant_id: uuid.UUID
    prefix: str
    name: str
    permissions: frozenset[str]
    created_by: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
