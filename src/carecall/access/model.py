"""Who is acting: the principal every service call carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

PrincipalKind = Literal["user", "api_key", "system"]


@dataclass(frozen=True)
class Principal:
    """The acting user, API key or system component, and the tenant it is bound to.

    ``tenant_id`` is None for the operator's own users and for system components; such a
    principal reaches a tenant's data only through an explicit, audited elevation.
    """

    kind: PrincipalKind
    id: str
    tenant_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        """How the audit log names this principal (never a person's name)."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def system(cls, component: str) -> Principal:
        """A carecall component acting on its own behalf (the CLI, the sequencer, imports)."""
        return cls(kind="system", id=component, roles=frozenset({"system"}))
