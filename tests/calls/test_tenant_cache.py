"""The per-process tenant cache a call turn uses: a change made anywhere is seen at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from tests.patients.factories import SYSTEM, make_tenant

from carecall.app import Carecall
from carecall.calls import tenant_cache
from carecall.tenants.service import load_tenant, terminate_baa
from carecall.tenants.store import TenantStore


def _cached(app: Carecall, tenant_id: object) -> object:
    with app.db.transaction() as session:
        return tenant_cache.tenant_in(session, tenant_id)  # type: ignore[arg-type]


def _fresh(app: Carecall, tenant_id: object) -> object:
    with app.db.transaction() as session:
        return load_tenant(session, tenant_id)  # type: ignore[arg-type]


def test_unchanged_tenant_is_reused_and_equal_to_a_fresh_load(carecall: Carecall) -> None:
    tenant_cache.clear()
    tenant = make_tenant(carecall)
    first = _cached(carecall, tenant.id)
    assert first == _fresh(carecall, tenant.id)
    assert _cached(carecall, tenant.id) is first  # no rebuild when nothing changed


def test_a_terminated_baa_is_seen_by_the_next_use(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    before = _cached(carecall, tenant.id)
    assert [b.status for b in before.baas] == ["active"]  # type: ignore[attr-defined]
    terminate_baa(carecall, SYSTEM, tenant.id, before.baas[0].id)  # type: ignore[attr-defined]
    after = _cached(carecall, tenant.id)
    assert [b.status for b in after.baas] == ["terminated"]  # type: ignore[attr-defined]
    assert after == _fresh(carecall, tenant.id)


def test_row_numbers_and_new_baas_invalidate(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    _cached(carecall, tenant.id)
    with carecall.db.transaction() as session:  # another process's update, say
        session.execute(text("UPDATE tenants SET recording_mode = 'ask' WHERE id = :i")
                        .bindparams(i=tenant.id))
    assert _cached(carecall, tenant.id).recording_mode == "ask"  # type: ignore[attr-defined]
    with carecall.db.transaction() as session:
        session.execute(text("INSERT INTO tenant_phone_numbers (number, tenant_id) "
                             "VALUES ('+16175550188', :i)").bindparams(i=tenant.id))
    assert "+16175550188" in _cached(carecall, tenant.id).phone_numbers  # type: ignore[attr-defined]
    current = _fresh(carecall, tenant.id)
    baa = current.baas[0]  # type: ignore[attr-defined]
    from dataclasses import replace

    from carecall.core.ids import new_id

    with carecall.db.transaction() as session:
        TenantStore(session).add_baa(
            replace(baa, id=new_id(), effective_on=baa.effective_on + timedelta(days=1)),
            carecall.clock.now())
    assert len(_cached(carecall, tenant.id).baas) == 2  # type: ignore[attr-defined]
    assert _cached(carecall, tenant.id) == _fresh(carecall, tenant.id)


def test_a_deleted_tenant_is_gone(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    _cached(carecall, tenant.id)
    with carecall.db.transaction() as session:
        for table in ("baas", "tenant_phone_numbers"):
            session.execute(text(f"DELETE FROM {table} WHERE tenant_id = :i")
                            .bindparams(i=tenant.id))
        session.execute(text("DELETE FROM tenant_keys WHERE tenant_id = :i")
                        .bindparams(i=tenant.id))
        session.execute(text("DELETE FROM tenants WHERE id = :i").bindparams(i=tenant.id))
    assert _cached(carecall, tenant.id) is None
