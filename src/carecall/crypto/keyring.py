"""The keyring: the key hierarchy's operations, run in the caller's unit of work.

KEK (provider) -> tenant key (one per tenant and version) -> data key (one per subject, i.e.
per patient) -> fields. Destroying a data key shreds one patient; destroying a tenant's keys
shreds the tenant (HIPAA disposal, 45 CFR 164.310(d)(2)(i); UK GDPR Art. 17 erasure reaches
backups too, because backups hold only ciphertext and wrapped keys).

Rotation comes in two kinds:

* KEK rotation (``provider.rotate()`` then ``rewrap_all``) rewraps tenant keys only; no data
  key or field is touched.
* Data rotation replaces a tenant's key: ``start_tenant_rotation`` makes a new active version
  (new data keys hang under it) and retires the old one, which stays readable;
  the caller walks ``subjects_on_old_keys``, re-encrypts each subject with the pair from
  ``rotate_subject_key`` and calls ``drop_data_key``; ``finish_tenant_rotation`` then
  destroys the old version.

Only unwrapped keys are cached, in memory, for ``cache_seconds``. Every read still checks the
key's row, so a shred by any process takes effect at once; shredding here also evicts.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carecall.core.clock import Clock
from carecall.core.errors import Conflict, DataShredded, IntegrityFailure, NotFound
from carecall.core.ids import new_id
from carecall.crypto.blind_index import blind_index, derive_index_key
from carecall.crypto.cache import TtlCache
from carecall.crypto.envelope import KEY_BYTES, DataKey
from carecall.crypto.providers import KeyProvider
from carecall.crypto.store import ACTIVE, DESTROYED, RETIRED, data_keys, tenant_keys
from carecall.crypto.wrapped import wrapped_kek_version
from carecall.store.any_of import uuid_in

_DATA_KEY_LABEL = b"carecall/data-key/v1"
_NONCE = 12

_SUBJECT_SHREDDED = (
    "This record's encryption key was destroyed (crypto-shredded); the data cannot be "
    "recovered. Treat the record as deleted."
)
_TENANT_SHREDDED = (
    "This tenant's encryption keys were destroyed (crypto-shredded); its data cannot be read "
    "or written. Create a new tenant if the practice returns."
)
_FOREIGN_KEY = (
    "An encrypted value names another tenant's key; it was copied across tenants. Restore "
    "the record from backup and report a possible security incident."
)
_BAD_DATA_KEY = (
    "A wrapped data key failed its integrity check; restore the data_keys table from backup "
    "and report a possible security incident."
)


@dataclass(frozen=True)
class _TenantKey:
    id: uuid.UUID
    tenant_id: uuid.UUID
    version: int
    aead: AESGCM
    material: bytes


# The look-ups every sealed read or write runs, built once (building a SQLAlchemy expression
# and its cache key costs more than executing it).
_ACTIVE_TENANT_KEY = (select(tenant_keys.c.id, tenant_keys.c.version, tenant_keys.c.wrapped)
                      .where(tenant_keys.c.tenant_id == bindparam("t"),
                             tenant_keys.c.state == ACTIVE))
_SUBJECT_KEY = (select(data_keys.c.id, data_keys.c.wrapped)
                .where(data_keys.c.tenant_id == bindparam("t"),
                       data_keys.c.subject_id == bindparam("s"),
                       data_keys.c.tenant_key_id == bindparam("k"),
                       data_keys.c.destroyed_at.is_(None))
                .order_by(data_keys.c.created_at, data_keys.c.id).limit(1))
_KEY_BY_ID = (select(data_keys.c.tenant_id, data_keys.c.subject_id, data_keys.c.wrapped,
                     data_keys.c.tenant_key_id, tenant_keys.c.version,
                     tenant_keys.c.wrapped.label("tenant_wrapped"))
              .join(tenant_keys, tenant_keys.c.id == data_keys.c.tenant_key_id)
              .where(data_keys.c.id == bindparam("k")))


class Keyring:
    """Tenant and data keys for every tenant; one per process, shared by all requests."""

    def __init__(self, provider: KeyProvider, clock: Clock, cache_seconds: float = 300.0) -> None:
        self.provider = provider
        self.clock = clock
        self._tenant_keys: TtlCache[uuid.UUID, _TenantKey] = TtlCache(clock, cache_seconds)
        self._data_keys: TtlCache[uuid.UUID, tuple[uuid.UUID, DataKey]] = TtlCache(
            clock, cache_seconds)
        self._index_keys: TtlCache[tuple[uuid.UUID, str], tuple[uuid.UUID, bytes]] = TtlCache(
            clock, cache_seconds)

    # -- tenant keys ---------------------------------------------------------------------

    def create_tenant_key(self, session: Session, tenant_id: uuid.UUID) -> None:
        """Give a new tenant its first key; does nothing if the tenant has any key row
        (a shredded tenant is never silently given fresh keys)."""
        if not self._has_key_rows(session, tenant_id):
            self._insert_tenant_key(session, tenant_id, 1)

    def _insert_tenant_key(self, session: Session, tenant_id: uuid.UUID,
                           version: int) -> _TenantKey:
        key_id = new_id()
        material = secrets.token_bytes(KEY_BYTES)
        wrapped = self.provider.wrap(material, _wrap_context(tenant_id, key_id))
        try:
            session.execute(tenant_keys.insert().values(
                id=key_id, tenant_id=tenant_id, version=version, wrapped=wrapped,
                kek_version=wrapped_kek_version(wrapped), state=ACTIVE,
                created_at=self.clock.now()))
        except IntegrityError:
            raise Conflict(
                "Another process changed this tenant's keys at the same time; try again."
            ) from None
        key = _TenantKey(key_id, tenant_id, version, AESGCM(material), material)
        self._tenant_keys.put(key_id, key)
        return key

    def _has_key_rows(self, session: Session, tenant_id: uuid.UUID) -> bool:
        return bool(session.execute(
            select(exists().where(tenant_keys.c.tenant_id == tenant_id))).scalar())

    def _active(self, session: Session, tenant_id: uuid.UUID) -> _TenantKey:
        row = session.execute(_ACTIVE_TENANT_KEY, {"t": tenant_id}).first()
        if row is not None:
            return self._unwrap_tenant_key(row.id, tenant_id, row.version, row.wrapped)
        if self._has_key_rows(session, tenant_id):
            raise DataShredded(_TENANT_SHREDDED)
        # A tenant made before it had keys (or by a test fixture): provision on first use.
        return self._insert_tenant_key(session, tenant_id, 1)

    def _unwrap_tenant_key(self, key_id: uuid.UUID, tenant_id: uuid.UUID, version: int,
                           wrapped: bytes | None) -> _TenantKey:
        cached = self._tenant_keys.get(key_id)
        if cached is not None:
            return cached
        if wrapped is None:
            raise DataShredded(_TENANT_SHREDDED)
        material = self.provider.unwrap(wrapped, _wrap_context(tenant_id, key_id))
        if len(material) != KEY_BYTES:
            raise IntegrityFailure(_BAD_DATA_KEY)
        key = _TenantKey(key_id, tenant_id, version, AESGCM(material), material)
        self._tenant_keys.put(key_id, key)
        return key

    # -- data keys -----------------------------------------------------------------------

    def data_key_for(self, session: Session, tenant_id: uuid.UUID,
                     subject_id: uuid.UUID) -> DataKey:
        """The subject's key under the tenant's active version, made on first use."""
        tenant_key = self._active(session, tenant_id)
        row = session.execute(_SUBJECT_KEY, {"t": tenant_id, "s": subject_id,
                                             "k": tenant_key.id}).first()
        if row is not None:
            return self._open_data_key(tenant_key, subject_id, row.id, row.wrapped)
        # Hold the tenant key row (FOR KEY SHARE on PostgreSQL; SQLite's write lock already
        # serialises) so a concurrent rotation cannot destroy it under the new data key.
        state = session.execute(
            select(tenant_keys.c.state).where(tenant_keys.c.id == tenant_key.id)
            .with_for_update(read=True, key_share=True)
        ).scalar()
        if state != ACTIVE:
            return self.data_key_for(session, tenant_id, subject_id)
        key_id = new_id()
        material = secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(_NONCE)
        aad = _data_key_aad(tenant_id, subject_id, key_id, tenant_key.id)
        wrapped = nonce + tenant_key.aead.encrypt(nonce, material, aad)
        session.execute(data_keys.insert().values(
            id=key_id, tenant_id=tenant_id, subject_id=subject_id,
            tenant_key_id=tenant_key.id, wrapped=wrapped, created_at=self.clock.now()))
        key = DataKey(key_id, material)
        self._data_keys.put(key_id, (tenant_id, key))
        return key

    def data_key_by_id(self, session: Session, tenant_id: uuid.UUID,
                       key_id: uuid.UUID) -> DataKey:
        """The key a ciphertext names (``blob_key_id``), for reading.

        ``DataShredded`` if it was destroyed; ``IntegrityFailure`` if it is another
        tenant's (the ciphertext was moved across tenants).
        """
        row = session.execute(_KEY_BY_ID, {"k": key_id}).first()
        if row is None:
            raise DataShredded(_SUBJECT_SHREDDED)
        if row.tenant_id != tenant_id:
            raise IntegrityFailure(_FOREIGN_KEY)
        if row.tenant_wrapped is None:
            raise DataShredded(_TENANT_SHREDDED)
        if row.wrapped is None:
            raise DataShredded(_SUBJECT_SHREDDED)
        tenant_key = self._unwrap_tenant_key(row.tenant_key_id, tenant_id, row.version,
                                             row.tenant_wrapped)
        return self._open_data_key(tenant_key, row.subject_id, key_id, row.wrapped)

    def data_keys_by_ids(self, session: Session, tenant_id: uuid.UUID,
                         key_ids: list[uuid.UUID]) -> dict[uuid.UUID, DataKey]:
        """Unwrap many of the tenant's data keys with a query per thousand (a campaign plan
        reads thousands of patients). Destroyed keys are left out: ``data_key_by_id`` refuses
        them, as usual, when a caller asks for one the answer lacks."""
        found: dict[uuid.UUID, DataKey] = {}
        wanted = sorted(set(key_ids))
        for start in range(0, len(wanted), 1000):
            rows = session.execute(
                select(data_keys.c.id, data_keys.c.subject_id, data_keys.c.wrapped,
                       data_keys.c.tenant_key_id, tenant_keys.c.version,
                       tenant_keys.c.wrapped.label("tenant_wrapped"))
                .join(tenant_keys, tenant_keys.c.id == data_keys.c.tenant_key_id)
                .where(uuid_in(session, data_keys.c.id, wanted[start:start + 1000]),
                       data_keys.c.tenant_id == tenant_id)
            ).all()
            for row in rows:
                if row.wrapped is None or row.tenant_wrapped is None:
                    continue
                tenant_key = self._unwrap_tenant_key(row.tenant_key_id, tenant_id, row.version,
                                                     row.tenant_wrapped)
                found[row.id] = self._open_data_key(tenant_key, row.subject_id, row.id,
                                                    row.wrapped)
        return found

    def _open_data_key(self, tenant_key: _TenantKey, subject_id: uuid.UUID,
                       key_id: uuid.UUID, wrapped: bytes) -> DataKey:
        cached = self._data_keys.get(key_id)
        if cached is not None:
            return cached[1]
        aad = _data_key_aad(tenant_key.tenant_id, subject_id, key_id, tenant_key.id)
        try:
            material = tenant_key.aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        except InvalidTag:
            raise IntegrityFailure(_BAD_DATA_KEY) from None
        key = DataKey(key_id, material)
        self._data_keys.put(key_id, (tenant_key.tenant_id, key))
        return key

    # -- blind indexes -------------------------------------------------------------------

    def index_keys(self, session: Session, tenant_id: uuid.UUID, column: str) -> list[bytes]:
        """One index key per readable tenant key version, the active one first: during a
        data rotation rows may still be indexed under the old version."""
        rows = session.execute(
            select(tenant_keys.c.id, tenant_keys.c.version, tenant_keys.c.wrapped)
            .where(tenant_keys.c.tenant_id == tenant_id,
                   tenant_keys.c.state.in_((ACTIVE, RETIRED)))
            .order_by((tenant_keys.c.state == ACTIVE).desc(), tenant_keys.c.version.desc())
        ).all()
        versions = [self._unwrap_tenant_key(r.id, tenant_id, r.version, r.wrapped)
                    for r in rows] or [self._active(session, tenant_id)]
        keys = []
        for tenant_key in versions:
            cached = self._index_keys.get((tenant_key.id, column))
            if cached is None:
                cached = (tenant_id, derive_index_key(tenant_key.material, tenant_id, column))
                self._index_keys.put((tenant_key.id, column), cached)
            keys.append(cached[1])
        return keys

    def blind_index(self, session: Session, tenant_id: uuid.UUID, column: str,
                    normalised_value: str | bytes, bits: int) -> list[int]:
        """The value's blind index under every readable version, active first: write the
        first, search with all of them."""
        return [blind_index(key, normalised_value, bits)
                for key in self.index_keys(session, tenant_id, column)]

    # -- shredding -----------------------------------------------------------------------

    def shred_subject(self, session: Session, tenant_id: uuid.UUID,
                      subject_id: uuid.UUID) -> int:
        """Destroy every key of one subject; returns how many were destroyed."""
        ids = list(session.execute(
            select(data_keys.c.id).where(
                data_keys.c.tenant_id == tenant_id, data_keys.c.subject_id == subject_id,
                data_keys.c.destroyed_at.is_(None))
        ).scalars())
        if ids:
            session.execute(update(data_keys).where(data_keys.c.id.in_(ids))
                            .values(wrapped=None, destroyed_at=self.clock.now()))
        for key_id in ids:
            self._data_keys.evict(key_id)
        return len(ids)

    def drop_data_key(self, session: Session, tenant_id: uuid.UUID, key_id: uuid.UUID) -> None:
        """Destroy one data key, e.g. the old one once its subject is re-encrypted."""
        session.execute(
            update(data_keys)
            .where(data_keys.c.id == key_id, data_keys.c.tenant_id == tenant_id,
                   data_keys.c.destroyed_at.is_(None))
            .values(wrapped=None, destroyed_at=self.clock.now()))
        self._data_keys.evict(key_id)

    def shred_tenant(self, session: Session, tenant_id: uuid.UUID) -> None:
        """Destroy all of a tenant's keys: every record it ever stored becomes unreadable."""
        now = self.clock.now()
        session.execute(
            update(data_keys)
            .where(data_keys.c.tenant_id == tenant_id, data_keys.c.destroyed_at.is_(None))
            .values(wrapped=None, destroyed_at=now))
        session.execute(
            update(tenant_keys)
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.state != DESTROYED)
            .values(wrapped=None, state=DESTROYED, destroyed_at=now))
        self._evict_tenant(tenant_id)

    def _evict_tenant(self, tenant_id: uuid.UUID) -> None:
        self._tenant_keys.evict_where(lambda _k, v: v.tenant_id == tenant_id)
        self._data_keys.evict_where(lambda _k, v: v[0] == tenant_id)
        self._index_keys.evict_where(lambda _k, v: v[0] == tenant_id)

    # -- KEK rotation --------------------------------------------------------------------

    def rewrap_all(self, session: Session, source: KeyProvider | None = None) -> int:
        """Rewrap every live tenant key not yet under the provider's current KEK version.

        Run after ``provider.rotate()``; touches no data key or field and is safe to rerun.
        ``source`` unwraps instead of the provider, to move from one provider to another
        (e.g. the local key file to KMS).
        """
        current = self.provider.current_version()
        reader = source or self.provider
        rows = session.execute(
            select(tenant_keys.c.id, tenant_keys.c.tenant_id, tenant_keys.c.wrapped)
            .where(tenant_keys.c.state != DESTROYED, tenant_keys.c.kek_version != current)
            .order_by(tenant_keys.c.id)
        ).all()
        for row in rows:
            context = _wrap_context(row.tenant_id, row.id)
            wrapped = self.provider.wrap(reader.unwrap(row.wrapped, context), context)
            session.execute(update(tenant_keys).where(tenant_keys.c.id == row.id).values(
                wrapped=wrapped, kek_version=wrapped_kek_version(wrapped)))
        return len(rows)

    # -- data rotation -------------------------------------------------------------------

    def start_tenant_rotation(self, session: Session, tenant_id: uuid.UUID) -> int:
        """Make a new active tenant key version and retire the old one; returns the new
        version. If a rotation is already under way, returns its version (resume)."""
        rows = session.execute(
            select(tenant_keys.c.id, tenant_keys.c.version, tenant_keys.c.state)
            .where(tenant_keys.c.tenant_id == tenant_id)
            .order_by(tenant_keys.c.version).with_for_update()
        ).all()
        live = [r for r in rows if r.state != DESTROYED]
        if rows and not live:
            raise DataShredded(_TENANT_SHREDDED)
        active = [r for r in live if r.state == ACTIVE]
        if active and any(r.state == RETIRED for r in live):
            return int(active[0].version)
        session.execute(update(tenant_keys)
                        .where(tenant_keys.c.tenant_id == tenant_id,
                               tenant_keys.c.state == ACTIVE)
                        .values(state=RETIRED))
        version = max((r.version for r in rows), default=0) + 1
        self._insert_tenant_key(session, tenant_id, version)
        return version

    def subjects_on_old_keys(self, session: Session, tenant_id: uuid.UUID,
                             limit: int | None = 200) -> list[uuid.UUID]:
        """Subjects that still have a live data key under a retired tenant key version."""
        query = (
            select(data_keys.c.subject_id).distinct()
            .join(tenant_keys, tenant_keys.c.id == data_keys.c.tenant_key_id)
            .where(data_keys.c.tenant_id == tenant_id, data_keys.c.destroyed_at.is_(None),
                   tenant_keys.c.state == RETIRED)
            .order_by(data_keys.c.subject_id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.execute(query).scalars())

    def rotate_subject_key(self, session: Session, tenant_id: uuid.UUID,
                           subject_id: uuid.UUID) -> tuple[DataKey, DataKey]:
        """``(old, new)``: the subject's oldest key on a retired version and its key on the
        active one. Re-encrypt every field whose ``blob_key_id`` is ``old.key_id`` with
        ``new``, then ``drop_data_key(old.key_id)``, in the same unit of work."""
        old_id = session.execute(
            select(data_keys.c.id)
            .join(tenant_keys, tenant_keys.c.id == data_keys.c.tenant_key_id)
            .where(data_keys.c.tenant_id == tenant_id, data_keys.c.subject_id == subject_id,
                   data_keys.c.destroyed_at.is_(None), tenant_keys.c.state == RETIRED)
            .order_by(data_keys.c.created_at, data_keys.c.id).limit(1)
        ).scalar()
        if old_id is None:
            raise NotFound("That subject has no key on a retired version; nothing to rotate.")
        old = self.data_key_by_id(session, tenant_id, old_id)
        return old, self.data_key_for(session, tenant_id, subject_id)

    def finish_tenant_rotation(self, session: Session, tenant_id: uuid.UUID) -> None:
        """Destroy the retired versions once no live data key hangs under them."""
        retired = list(session.execute(
            select(tenant_keys.c.id)
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.state == RETIRED)
            .with_for_update()
        ).scalars())
        if not retired:
            return
        remaining = session.execute(
            select(func.count()).select_from(data_keys)
            .where(and_(data_keys.c.tenant_key_id.in_(retired),
                        data_keys.c.destroyed_at.is_(None)))
        ).scalar_one()
        if remaining:
            raise Conflict(
                f"{remaining} data keys still use the old tenant key; run the rotation again "
                "to move them, then finish."
            )
        session.execute(update(tenant_keys).where(tenant_keys.c.id.in_(retired))
                        .values(wrapped=None, state=DESTROYED, destroyed_at=self.clock.now()))
        for key_id in retired:
            self._tenant_keys.evict(key_id)
        self._index_keys.evict_where(lambda k, _v: k[0] in retired)

    def clear_cache(self) -> None:
        """Forget every unwrapped key (e.g. after restoring a backup)."""
        self._tenant_keys.clear()
        self._data_keys.clear()
        self._index_keys.clear()


def _wrap_context(tenant_id: uuid.UUID, tenant_key_id: uuid.UUID) -> dict[str, str]:
    """The KEK wrap's bound context (KMS EncryptionContext): which tenant, which key row."""
    return {"tenant_id": str(tenant_id), "tenant_key_id": str(tenant_key_id)}


def _data_key_aad(tenant_id: uuid.UUID, subject_id: uuid.UUID, key_id: uuid.UUID,
                  tenant_key_id: uuid.UUID) -> bytes:
    """Binds a wrapped data key to its tenant, subject, own id and wrapping key: a wrapped
    key copied onto another patient's row does not unwrap."""
    return b"".join((_DATA_KEY_LABEL, tenant_id.bytes, subject_id.bytes, key_id.bytes,
                     tenant_key_id.bytes))
