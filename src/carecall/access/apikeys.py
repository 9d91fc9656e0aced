"""API keys for machines: one tenant, a set of permissions, an expiry and a last-used time.

A key reads ``cck_<prefix>_<secret>``. The public prefix finds the row; only the SHA-256 of
the secret is stored and compared in constant time. Unknown, wrong, revoked or expired
keys all get ``AUTH_FAILED`` and an audit entry.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from carecall.access import tokens
from carecall.access.errors import AuthFailed
from carecall.access.guard import authorize, security_event
from carecall.access.model import ApiKey, Principal
from carecall.access.rules import KEY_GRANTABLE, Action, permits
from carecall.access.store import AccessStore
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.core.errors import InvalidInput, NotFound
from carecall.core.ids import new_id

KEY_SCHEME = "cck"
MAX_DAYS = 365


def create_key(
    app: Carecall,
    principal: Principal,
    tenant_id: uuid.UUID,
    name: str,
    permissions: frozenset[str],
    days: int = 90,
) -> tuple[ApiKey, str]:
    """A new key and its full secret (shown once). A person can only hand a key what they
    may do themselves, and never the management of people or keys."""
    authorize(app, principal, Action.APIKEYS_WRITE, tenant_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Name the key in 1 to 100 characters.")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("A key expires after 1 to 365 days.")
    try:
        wanted = frozenset(Action(p) for p in permissions)
    except ValueError:
        raise InvalidInput("Unknown permission; see GET /api/v1/roles for the list.") from None
    if not wanted or not wanted <= KEY_GRANTABLE:
        raise InvalidInput(
            "An API key may hold only: " + ", ".join(sorted(KEY_GRANTABLE)) + "."
        )
    now = app.clock.now()
    if principal.kind != "system":
        rights = {a for a in wanted if not permits(principal, a, now)}
        if rights:
            raise InvalidInput("You cannot give a key a permission you do not hold.")
    prefix = secrets.token_hex(6)
    secret = tokens.new_token()
    key = ApiKey(
        id=new_id(),
        tenant_id=tenant_id,
        prefix=prefix,
        name=name,
        permissions=frozenset(a.value for a in wanted),
        created_by=principal.actor,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    with app.db.transaction() as session:
        from carecall.tenants.store import TenantStore

        if TenantStore(session).get(tenant_id) is None:
            raise NotFound("No tenant with that id.")
        AccessStore(session).insert_key(key, tokens.digest(secret))
        append(
            session,
            AuditEvent(actor=principal.actor, action="apikey.create", resource_type="api_key",
                       resource_id=str(key.id), tenant_id=tenant_id,
                       details={"permissions": sorted(key.permissions), "days": days}),
            app.clock,
        )
    return key, f"{KEY_SCHEME}_{prefix}_{secret}"


def list_keys(app: Carecall, principal: Principal, tenant_id: uuid.UUID) -> list[ApiKey]:
    authorize(app, principal, Action.APIKEYS_READ, tenant_id)
    with app.db.transaction() as session:
        return AccessStore(session).keys_of(tenant_id)


def revoke_key(
    app: Carecall, principal: Principal, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    authorize(app, principal, Action.APIKEYS_WRITE, tenant_id)
    with app.db.transaction() as session:
        store = AccessStore(session)
        key = store.key(key_id)
        if key is None or key.tenant_id != tenant_id:
            raise NotFound("No API key with that id.")
        if key.revoked_at is None:
            store.update_key(key_id, revoked_at=app.clock.now())
        append(
            session,
            AuditEvent(actor=principal.actor, action="apikey.revoke", resource_type="api_key",
                       resource_id=str(key_id), tenant_id=tenant_id),
            app.clock,
        )


def authenticate_key(app: Carecall, presented: str) -> Principal:
    """The principal of a presented key; forged, revoked and expired keys are audited."""
    scheme, _, rest = presented.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    now = app.clock.now()
    found = None
    if scheme == KEY_SCHEME and prefix and secret and len(prefix) <= 16:
        with app.db.transaction() as session:
            found = AccessStore(session).key_by_prefix(prefix)
    # hash even when nothing was found, so timing says nothing about which prefixes exist
    good = tokens.matches(secret, found[1] if found else b"\0" * 32)
    reason = None
    if found is None or not good:
        reason = "forged"
    elif found[0].revoked_at is not None:
        reason = "revoked"
    elif found[0].expires_at <= now:
        reason = "expired"
    if reason is not None or found is None:
        security_event(app, "anonymous", "apikey.rejected",
                       tenant_id=found[0].tenant_id if found else None,
                       resource_type="api_key", resource_id=str(found[0].id) if found else None,
                       reason=reason or "forged")
        raise AuthFailed("That API key is not valid (unknown, revoked or expired).")
    key = found[0]
    with app.db.transaction() as session:
        AccessStore(session).update_key(key.id, last_used_at=now)
    return Principal(kind="api_key", id=str(key.id), tenant_id=key.tenant_id,
                     permissions=key.permissions)
