"""Tenant and BAA tables, and the repository that maps them to ``tenants.model``."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Uuid,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from carecall.store.schema import UtcDateTime, metadata
from carecall.tenants.model import Baa, Purpose, Tenant

tenants = Table(
    "tenants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("slug", String(60), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("contact_phone", String(20), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("agent_name", String(60), nullable=False),
    Column("recording_mode", String(10), nullable=False),
    Column("retain_raw_transcripts", Boolean, nullable=False),
    Column("staff_phone", String(20), nullable=True),
    Column("daily_limit", Integer, nullable=True),
    Column("weekly_limit", Integer, nullable=True),
    Column("session_idle_minutes", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

tenant_phone_numbers = Table(
    "tenant_phone_numbers",
    metadata,
    # A practice's public numbers; an inbound call's To picks the tenant.
    Column("number", String(20), primary_key=True),
    Column(
        "tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)

baas = Table(
    "baas",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("effective_on", Date, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("signed_by", String(200), nullable=False),
    Column("permitted_purposes", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("terminated_at", UtcDateTime, nullable=True),
)


def _baa(row: object) -> Baa:
    r = row._mapping  # type: ignore[attr-defined]
    return Baa(
        id=r["id"],
        tenant_id=r["tenant_id"],
        effective_on=r["effective_on"],
        expires_on=r["expires_on"],
        signed_by=r["signed_by"],
        permitted_purposes=frozenset(Purpose(p) for p in r["permitted_purposes"]),
        status=r["status"],
    )


class TenantStore:
    """Reads and writes tenants; callers are services that already checked permission."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, tenant: Tenant, created_at: datetime) -> None:
        self.session.execute(
            insert(tenants).values(
                id=tenant.id,
                slug=tenant.slug,
                display_name=tenant.display_name,
                contact_phone=tenant.contact_phone,
                timezone=tenant.timezone,
                agent_name=tenant.agent_name,
                recording_mode=tenant.recording_mode,
                retain_raw_transcripts=tenant.retain_raw_transcripts,
                staff_phone=tenant.staff_phone,
                daily_limit=tenant.daily_limit,
                weekly_limit=tenant.weekly_limit,
                session_idle_minutes=tenant.session_idle_minutes,
                created_at=created_at,
            )
        )
        for number in tenant.phone_numbers:
            self.session.execute(
                insert(tenant_phone_numbers).values(number=number, tenant_id=tenant.id)
            )

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        row = self.session.execute(_GET, {"t": tenant_id}).first()
        return None if row is None else self._tenant(row)

    def by_slug(self, slug: str) -> Tenant | None:
        row = self.session.execute(select(tenants).where(tenants.c.slug == slug)).first()
        return None if row is None else self._tenant(row)

    def by_phone_number(self, number: str) -> Tenant | None:
        tenant_id = self.session.execute(
            select(tenant_phone_numbers.c.tenant_id).where(tenant_phone_numbers.c.number == number)
        ).scalar_one_or_none()
        return None if tenant_id is None else self.get(tenant_id)

    def all(self) -> list[Tenant]:
        rows = self.session.execute(select(tenants).order_by(tenants.c.slug)).all()
        return [self._tenant(row) for row in rows]

    def all_ids(self) -> list[uuid.UUID]:
        return list(self.session.execute(select(tenants.c.id)).scalars())

    def add_baa(self, baa: Baa, created_at: datetime) -> None:
        self.session.execute(
            insert(baas).values(
                id=baa.id,
                tenant_id=baa.tenant_id,
                effective_on=baa.effective_on,
                expires_on=baa.expires_on,
                signed_by=baa.signed_by,
                permitted_purposes=sorted(str(p) for p in baa.permitted_purposes),
                status=baa.status,
                created_at=created_at,
            )
        )

    def terminate_baa(self, baa_id: uuid.UUID, at: datetime) -> bool:
        result = self.session.execute(
            update(baas)
            .where(baas.c.id == baa_id, baas.c.status == "active")
            .values(status="terminated", terminated_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def baas_of(self, tenant_id: uuid.UUID) -> tuple[Baa, ...]:
        rows = self.session.execute(_BAAS_OF, {"t": tenant_id}).all()
        return tuple(_baa(row) for row in rows)

    def _tenant(self, row: object) -> Tenant:
        r = row._mapping  # type: ignore[attr-defined]
        numbers = tuple(self.session.execute(_NUMBERS_OF, {"t": r["id"]}).scalars())
        return Tenant(
            id=r["id"],
            slug=r["slug"],
            display_name=r["display_name"],
            contact_phone=r["contact_phone"],
            timezone=r["timezone"],
            agent_name=r["agent_name"],
            phone_numbers=numbers,
            recording_mode=r["recording_mode"],
            retain_raw_transcripts=r["retain_raw_transcripts"],
            staff_phone=r["staff_phone"],
            daily_limit=r["daily_limit"],
            weekly_limit=r["weekly_limit"],
            session_idle_minutes=r["session_idle_minutes"],
            created_at=r["created_at"],
            baas=self.baas_of(r["id"]),
        )


# Built once: the call engine loads its tenant on every turn, and building an expression
# costs more than running it.
_GET = select(tenants).where(tenants.c.id == bindparam("t"))
_NUMBERS_OF = (select(tenant_phone_numbers.c.number)
               .where(tenant_phone_numbers.c.tenant_id == bindparam("t"))
               .order_by(tenant_phone_numbers.c.number))
_BAAS_OF = select(baas).where(baas.c.tenant_id == bindparam("t")).order_by(baas.c.effective_on)


def baa_date(value: str) -> date:
    return date.fromisoformat(value)
