"""The practice a call belongs to, loaded with one statement per turn instead of three.

A turn needs the whole ``Tenant``: its row, its phone numbers (the guard lets the agent say
them) and its BAAs (every PHI read checks one is in force). ``load_tenant`` reads them with
three statements; on PostgreSQL that is three round trips a turn. Here each process keeps
the last ``Tenant`` it built per tenant id, and every use re-reads, in the caller's unit of
work, the tenant row itself plus a fingerprint of its numbers and BAAs (counts, active
count, latest termination, smallest and largest number) in one statement. The cached value
is used only when the row and the fingerprint are unchanged, so a change made by any
process (a BAA terminated from the CLI, a tenant shredded) is seen by the next turn, in
every worker: the invalidation is explicit, by the database, not by time.

BAAs are only ever inserted or terminated and a practice's numbers only inserted (see
``tenants.store``); both show in the fingerprint. Should a later change edit a BAA's
dates or purposes in place, or swap numbers keeping their count and bounds, extend
``_FINGERPRINT``. Practice data only: no PHI is held here.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from carecall.tenants.model import Tenant
from carecall.tenants.service import load_tenant
from carecall.tenants.store import baas, tenant_phone_numbers, tenants

_MAX = 1024


def _scalar(column: Any, *where: Any) -> Any:
    return select(column).where(*where).scalar_subquery()


_TID: Any = bindparam("t")
_FINGERPRINT = select(
    tenants,
    _scalar(func.count(), baas.c.tenant_id == _TID).label("fp_baas"),
    _scalar(func.count(), and_(baas.c.tenant_id == _TID, baas.c.status == "active"))
    .label("fp_active"),
    _scalar(func.max(baas.c.terminated_at), baas.c.tenant_id == _TID).label("fp_terminated"),
    _scalar(func.count(), tenant_phone_numbers.c.tenant_id == _TID).label("fp_numbers"),
    _scalar(func.min(tenant_phone_numbers.c.number),
            tenant_phone_numbers.c.tenant_id == _TID).label("fp_min"),
    _scalar(func.max(tenant_phone_numbers.c.number),
            tenant_phone_numbers.c.tenant_id == _TID).label("fp_max"),
).where(tenants.c.id == _TID)

_cache: dict[uuid.UUID, tuple[tuple[Any, ...], Tenant]] = {}
_lock = threading.Lock()


def tenant_in(session: Session, tenant_id: uuid.UUID) -> Tenant | None:
    """The tenant as ``load_tenant`` would return it now (``None``: no such tenant)."""
    row = session.connection().execute(_FINGERPRINT, {"t": tenant_id}).first()
    if row is None:
        with _lock:
            _cache.pop(tenant_id, None)
        return None
    fingerprint = tuple(row)
    cached = _cache.get(tenant_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    tenant = load_tenant(session, tenant_id)
    if tenant is not None:
        with _lock:
            if len(_cache) >= _MAX:
                _cache.clear()
            _cache[tenant_id] = (fingerprint, tenant)
    return tenant


def clear() -> None:
    """Forget every cached tenant (tests; never needed for correctness)."""
    with _lock:
        _cache.clear()
