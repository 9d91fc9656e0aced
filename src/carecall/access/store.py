"""Tables of identity and access, and the repository over them.

Secrets are never stored: passwords and recovery codes as argon2id hashes, session,
enrolment and API-key secrets as SHA-256 digests, TOTP seeds wrapped by the KEK.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from carecall.access.model import ApiKey, SessionRecord, User
from carecall.store.schema import UtcDateTime, metadata


def _user_fk() -> Column[Any]:
    return Column(
        "user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )


def _tenant_fk(nullable: bool = False) -> Column[Any]:
    return Column(
        "tenant_id",
        Uuid,
        ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=nullable,
        index=True,
    )


users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    _tenant_fk(nullable=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("role", String(30), nullable=False),
    Column("password_hash", String(200), nullable=True),
    Column("totp_secret", LargeBinary, nullable=True),
    Column("totp_confirmed_at", UtcDateTime, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    _user_fk(),
    Column("code_hash", String(200), nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

enrolment_tokens = Table(
    "enrolment_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    _user_fk(),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    _user_fk(),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("csrf_hash", LargeBinary, nullable=False),
    Column("stage", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("idle_seconds", Integer, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("elevated_until", UtcDateTime, nullable=True),
    Column("elevation_reason", String(40), nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    _tenant_fk(),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("name", String(100), nullable=False),
    Column("permissions", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

training_records = Table(
    "training_records",
    metadata,
    Column("id", Uuid, primary_key=True),
    _user_fk(),
    Column("course", String(100), nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Uuid, primary_key=True),
    _tenant_fk(),
    _user_fk(),
    Column("kind", String(60), nullable=False),
    Column("resource_type", String(60), nullable=False),
    Column("resource_id", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
)


def _user(row: Any) -> User:
    r = row._mapping
    return User(**{k: r[k] for k in User.__dataclass_fields__})


def _session(row: Any) -> SessionRecord:
    r = row._mapping
    return SessionRecord(**{k: r[k] for k in SessionRecord.__dataclass_fields__})


def _key(row: Any) -> ApiKey:
    r = dict(row._mapping)
    r["permissions"] = frozenset(r["permissions"])
    return ApiKey(**{k: r[k] for k in ApiKey.__dataclass_fields__})


class AccessStore:
    """Reads and writes identity rows; callers are services that already checked permission."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # users
    def insert_user(self, user: User, now: datetime) -> None:
        self.session.execute(
            insert(users).values(
                id=user.id,
                tenant_id=user.tenant_id,
                username=user.username,
                role=user.role,
                failed_logins=0,
                created_at=now,
            )
        )

    def user(self, user_id: uuid.UUID) -> User | None:
        row = self.session.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def user_by_name(self, username: str) -> User | None:
        row = self.session.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def users_of(self, tenant_id: uuid.UUID | None) -> list[User]:
        query = select(users).order_by(users.c.username)
        if tenant_id is not None:
            query = query.where(users.c.tenant_id == tenant_id)
        return [_user(r) for r in self.session.execute(query).all()]

    def count_users(self) -> int:
        return len(self.session.execute(select(users.c.id)).all())

    def update_user(self, user_id: uuid.UUID, **values: Any) -> None:
        self.session.execute(update(users).where(users.c.id == user_id).values(**values))

    def privacy_officers(self, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            self.session.execute(
                select(users.c.id).where(
                    users.c.tenant_id == tenant_id,
                    users.c.role == "privacy_officer",
                    users.c.disabled_at.is_(None),
                )
            ).scalars()
        )

    # recovery codes
    def replace_recovery_codes(self, user_id: uuid.UUID, hashes: list[str]) -> None:
        self.session.execute(
            recovery_codes.delete().where(recovery_codes.c.user_id == user_id)
        )
        for code_hash in hashes:
            self.session.execute(
                insert(recovery_codes).values(id=uuid.uuid4(), user_id=user_id, code_hash=code_hash)
            )

    def unused_recovery_codes(self, user_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        rows = self.session.execute(
            select(recovery_codes.c.id, recovery_codes.c.code_hash).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)
            )
        ).all()
        return [(r[0], r[1]) for r in rows]

    def use_recovery_code(self, code_id: uuid.UUID, now: datetime) -> bool:
        result = self.session.execute(
            update(recovery_codes)
            .where(recovery_codes.c.id == code_id, recovery_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # enrolment tokens
    def insert_enrolment(
        self, user_id: uuid.UUID, token_hash: bytes, now: datetime, expires_at: datetime
    ) -> None:
        self.session.execute(
            enrolment_tokens.update()
            .where(enrolment_tokens.c.user_id == user_id, enrolment_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        self.session.execute(
            insert(enrolment_tokens).values(
                id=uuid.uuid4(),
                user_id=user_id,
                token_hash=token_hash,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def take_enrolment(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """Consume a live enrolment token; None when unknown, used or expired."""
        row = self.session.execute(
            select(enrolment_tokens.c.id, enrolment_tokens.c.user_id, enrolment_tokens.c.expires_at)
            .where(enrolment_tokens.c.token_hash == token_hash)
            .where(enrolment_tokens.c.used_at.is_(None))
        ).first()
        if row is None or row[2] <= now:
            return None
        result = self.session.execute(
            update(enrolment_tokens)
            .where(enrolment_tokens.c.id == row[0], enrolment_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        return row[1] if result.rowcount else None  # type: ignore[attr-defined]

    # sessions
    def insert_session(self, record: SessionRecord, token_hash: bytes) -> None:
        self.session.execute(
            insert(sessions).values(
                id=record.id,
                user_id=record.user_id,
                token_hash=token_hash,
                csrf_hash=record.csrf_hash,
                stage=record.stage,
                created_at=record.created_at,
                last_seen_at=record.last_seen_at,
                idle_seconds=record.idle_seconds,
            )
        )

    def session_by_token(self, token_hash: bytes) -> SessionRecord | None:
        row = self.session.execute(
            select(sessions).where(sessions.c.token_hash == token_hash)
        ).first()
        return None if row is None else _session(row)

    def update_session(self, session_id: uuid.UUID, **values: Any) -> None:
        self.session.execute(update(sessions).where(sessions.c.id == session_id).values(**values))

    def revoke_sessions(self, user_id: uuid.UUID, now: datetime) -> int:
        result = self.session.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # training
    def add_training(
        self, user_id: uuid.UUID, course: str, completed_on: date, by: str, now: datetime
    ) -> None:
        self.session.execute(
            insert(training_records).values(
                id=uuid.uuid4(),
                user_id=user_id,
                course=course,
                completed_on=completed_on,
                recorded_by=by,
                recorded_at=now,
            )
        )

    def last_training(self, user_id: uuid.UUID) -> date | None:
        rows = self.session.execute(
            select(training_records.c.completed_on)
            .where(training_records.c.user_id == user_id)
            .order_by(training_records.c.completed_on.desc())
            .limit(1)
        ).scalars()
        return next(iter(rows), None)

    # notifications
    def notify(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        kind: str,
        resource_type: str,
        resource_id: str | None,
        now: datetime,
    ) -> None:
        self.session.execute(
            insert(notifications).values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                user_id=user_id,
                kind=kind,
                resource_type=resource_type,
                resource_id=resource_id,
                created_at=now,
            )
        )

    def notifications_for(self, user_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(notifications)
            .where(notifications.c.user_id == user_id)
            .order_by(notifications.c.created_at)
        ).all()
        return [dict(r._mapping) for r in rows]

    # API keys
    def insert_key(self, key: ApiKey, secret_hash: bytes) -> None:
        self.session.execute(
            insert(api_keys).values(
                id=key.id,
                tenant_id=key.tenant_id,
                prefix=key.prefix,
                secret_hash=secret_hash,
                name=key.name,
                permissions=sorted(key.permissions),
                created_by=key.created_by,
                created_at=key.created_at,
                expires_at=key.expires_at,
            )
        )

    def key_by_prefix(self, prefix: str) -> tuple[ApiKey, bytes] | None:
        row = self.session.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
        return None if row is None else (_key(row), row._mapping["secret_hash"])

    def key(self, key_id: uuid.UUID) -> ApiKey | None:
        row = self.session.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _key(row)

    def keys_of(self, tenant_id: uuid.UUID) -> list[ApiKey]:
        rows = self.session.execute(
            select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.name)
        ).all()
        return [_key(r) for r in rows]

    def update_key(self, key_id: uuid.UUID, **values: Any) -> None:
        self.session.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
