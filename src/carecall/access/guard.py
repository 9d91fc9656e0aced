"""Tenant scoping: the first wall every service passes before touching a tenant's data.

A principal bound to a tenant reaches that tenant only; anything else is "not found", the
same answer as for an id that does not exist, so ids of other tenants cannot be probed.
Permission by role and purpose is the access rules' job (see ``access.rules``).
"""

from __future__ import annotations

import uuid

from carecall.access.model import Principal
from carecall.core.errors import NotFound


def ensure_tenant(principal: Principal, tenant_id: uuid.UUID, what: str = "resource") -> None:
    if principal.kind == "system":
        return
    if principal.tenant_id is None or principal.tenant_id != tenant_id:
        raise NotFound(f"No {what} with that id.")
