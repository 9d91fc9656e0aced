"""The keyring on both databases: per-subject keys, shredding, KEK and data rotation, caching."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from carecall.core.clock import FixedClock
from carecall.core.errors import Conflict, DataShredded, IntegrityFailure, KeyUnavailable
from carecall.crypto.envelope import DataKey, FieldContext, blob_key_id
from carecall.crypto.keyring import Keyring
from carecall.crypto.providers import LocalKeyFileProvider
from carecall.crypto.store import data_keys, tenant_keys
from carecall.store.db import Database

TENANT = uuid.UUID("0190c0de-0000-7000-8000-000000000001")
OTHER_TENANT = uuid.UUID("0190c0de-0000-7000-8000-000000000002")


def ctx(row: uuid.UUID, tenant: uuid.UUID = TENANT, column: str = "dob") -> FieldContext:
    return FieldContext(tenant, "patients", column, row)


def seal(db: Database, keyring: Keyring, subject: uuid.UUID, value: bytes,
         tenant: uuid.UUID = TENANT) -> bytes:
    with db.transaction() as session:
        return keyring.data_key_for(session, tenant, subject).seal(value, ctx(subject, tenant))


def read(db: Database, keyring: Keyring, subject: uuid.UUID, blob: bytes,
         tenant: uuid.UUID = TENANT) -> bytes:
    with db.transaction() as session:
        key = keyring.data_key_by_id(session, tenant, blob_key_id(blob))
        return key.open(blob, ctx(subject, tenant))


def test_one_key_per_subject(db: Database, keyring: Keyring) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with db.transaction() as session:
        keyring.create_tenant_key(session, TENANT)
        keyring.create_tenant_key(session, TENANT)  # idempotent
        first = keyring.data_key_for(session, TENANT, a)
        assert keyring.data_key_for(session, TENANT, a).key_id == first.key_id
        assert keyring.data_key_for(session, TENANT, b).key_id != first.key_id
    with db.transaction() as session:
        assert len(session.execute(select(tenant_keys)).all()) == 1
        assert len(session.execute(select(data_keys)).all()) == 2


def test_round_trip_through_a_cold_keyring(db: Database, keyring: Keyring,
                                           provider: LocalKeyFileProvider,
                                           clock: FixedClock) -> None:
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"1990-01-01")
    assert read(db, Keyring(provider, clock), subject, blob) == b"1990-01-01"


def test_no_key_material_at_rest(db: Database, keyring: Keyring,
                                 kek_path: Path) -> None:
    subject = uuid.uuid4()
    with db.transaction() as session:
        key = keyring.data_key_for(session, TENANT, subject)
        tenant_key = keyring._active(session, TENANT)
    with db.transaction() as session:
        stored = b"".join(r.wrapped for r in session.execute(select(data_keys.c.wrapped)))
        stored += b"".join(r.wrapped for r in session.execute(select(tenant_keys.c.wrapped)))
    assert key._material not in stored
    assert tenant_key.material not in stored
    assert key._material.hex() not in kek_path.read_text()


def test_provisions_a_tenant_without_keys_on_first_use(db: Database, keyring: Keyring) -> None:
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"x")
    assert read(db, keyring, subject, blob) == b"x"


def test_another_tenants_key_is_an_integrity_failure(db: Database, keyring: Keyring) -> None:
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"555-0100")
    with db.transaction() as session, pytest.raises(IntegrityFailure, match="another tenant"):
        keyring.data_key_by_id(session, OTHER_TENANT, blob_key_id(blob))
    # and the same blob opened under the other tenant's context fails too
    with db.transaction() as session:
        key = keyring.data_key_by_id(session, TENANT, blob_key_id(blob))
    with pytest.raises(IntegrityFailure):
        key.open(blob, ctx(subject, OTHER_TENANT))


def test_unknown_key_id_reads_as_shredded(db: Database, keyring: Keyring) -> None:
    with db.transaction() as session, pytest.raises(DataShredded):
        keyring.data_key_by_id(session, TENANT, uuid.uuid4())


def test_shred_subject(db: Database, keyring: Keyring, provider: LocalKeyFileProvider,
                       clock: FixedClock) -> None:
    gone, kept = uuid.uuid4(), uuid.uuid4()
    other_process = Keyring(provider, clock)
    gone_blob = seal(db, keyring, gone, b"gone")
    kept_blob = seal(db, keyring, kept, b"kept")
    assert read(db, other_process, gone, gone_blob) == b"gone"  # now cached there too
    with db.transaction() as session:
        assert keyring.shred_subject(session, TENANT, gone) == 1
        assert keyring.shred_subject(session, TENANT, gone) == 0
    for reader in (keyring, other_process):
        with pytest.raises(DataShredded, match="crypto-shredded"):
            read(db, reader, gone, gone_blob)
        assert read(db, reader, kept, kept_blob) == b"kept"
    with db.transaction() as session:
        row = session.execute(select(data_keys).where(data_keys.c.subject_id == gone)).one()
    assert row.wrapped is None
    assert row.destroyed_at == clock.now()


def test_shred_tenant(db: Database, keyring: Keyring, provider: LocalKeyFileProvider,
                      clock: FixedClock) -> None:
    subject, neighbour = uuid.uuid4(), uuid.uuid4()
    blob = seal(db, keyring, subject, b"gone")
    other_blob = seal(db, keyring, neighbour, b"stays", tenant=OTHER_TENANT)
    with db.transaction() as session:
        keyring.shred_tenant(session, TENANT)
    for reader in (keyring, Keyring(provider, clock)):
        with pytest.raises(DataShredded, match="tenant"):
            read(db, reader, subject, blob)
        with db.transaction() as session, pytest.raises(DataShredded):
            reader.data_key_for(session, TENANT, uuid.uuid4())
        with db.transaction() as session, pytest.raises(DataShredded):
            reader.index_keys(session, TENANT, "phone")
        with db.transaction() as session, pytest.raises(DataShredded):
            reader.start_tenant_rotation(session, TENANT)
        assert read(db, reader, neighbour, other_blob, tenant=OTHER_TENANT) == b"stays"
    with db.transaction() as session:
        keyring.create_tenant_key(session, TENANT)  # never resurrects a shredded tenant
        states = set(session.execute(select(tenant_keys.c.state)
                                     .where(tenant_keys.c.tenant_id == TENANT)).scalars())
        assert states == {"destroyed"}
        assert session.execute(select(tenant_keys.c.wrapped)
                               .where(tenant_keys.c.tenant_id == TENANT)).scalar() is None


def test_wrapped_data_key_moved_to_another_subject_fails(db: Database,
                                                         keyring: Keyring) -> None:
    victim, attacker = uuid.uuid4(), uuid.uuid4()
    seal(db, keyring, victim, b"v")
    attacker_blob = seal(db, keyring, attacker, b"a")
    with db.transaction() as session:
        victim_wrapped = session.execute(select(data_keys.c.wrapped)
                                         .where(data_keys.c.subject_id == victim)).scalar()
        session.execute(update(data_keys).where(data_keys.c.subject_id == attacker)
                        .values(wrapped=victim_wrapped))
    keyring.clear_cache()
    with pytest.raises(IntegrityFailure, match="data key"):
        read(db, keyring, attacker, attacker_blob)


def test_wrapped_tenant_key_moved_to_another_tenant_fails(db: Database, keyring: Keyring,
                                                          provider: LocalKeyFileProvider,
                                                          clock: FixedClock) -> None:
    seal(db, keyring, uuid.uuid4(), b"a")
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"b", tenant=OTHER_TENANT)
    with db.transaction() as session:
        wrapped = session.execute(select(tenant_keys.c.wrapped)
                                  .where(tenant_keys.c.tenant_id == TENANT)).scalar()
        session.execute(update(tenant_keys).where(tenant_keys.c.tenant_id == OTHER_TENANT)
                        .values(wrapped=wrapped))
    with pytest.raises(IntegrityFailure):
        read(db, Keyring(provider, clock), subject, blob, tenant=OTHER_TENANT)


def test_kek_rotation_rewraps_tenant_keys_only(db: Database, keyring: Keyring,
                                               provider: LocalKeyFileProvider,
                                               clock: FixedClock, kek_path: Path) -> None:
    subjects = [uuid.uuid4() for _ in range(3)]
    blobs = [seal(db, keyring, s, b"before", tenant=t)
             for s, t in zip(subjects, [TENANT, OTHER_TENANT, TENANT], strict=True)]
    with db.transaction() as session:
        data_before = session.execute(select(data_keys.c.id, data_keys.c.wrapped)).all()
        assert keyring.rewrap_all(session) == 0
    assert provider.rotate() == "local:2"
    with db.transaction() as session:
        assert keyring.rewrap_all(session) == 2
    with db.transaction() as session:
        assert keyring.rewrap_all(session) == 0
        versions = set(session.execute(select(tenant_keys.c.kek_version)).scalars())
        assert sorted(session.execute(select(data_keys.c.id, data_keys.c.wrapped)).all()) \
            == sorted(data_before)
    assert versions == {"local:2"}
    assert sorted(json.loads(kek_path.read_text())["keys"]) == ["1", "2"]
    cold = Keyring(LocalKeyFileProvider(kek_path), clock)
    for subject, tenant, blob in zip(subjects, [TENANT, OTHER_TENANT, TENANT], blobs,
                                     strict=True):
        assert read(db, cold, subject, blob, tenant=tenant) == b"before"


def test_data_rotation(db: Database, keyring: Keyring, provider: LocalKeyFileProvider,
                       clock: FixedClock) -> None:
    old_subjects = [uuid.uuid4() for _ in range(3)]
    blobs = {s: seal(db, keyring, s, s.bytes) for s in old_subjects}
    with db.transaction() as session:
        phone_v1 = keyring.blind_index(session, TENANT, "phone", "+15555550100", 15)
        assert len(phone_v1) == 1
        assert keyring.start_tenant_rotation(session, TENANT) == 2
    with db.transaction() as session:
        assert keyring.start_tenant_rotation(session, TENANT) == 2  # resumes
        phone_both = keyring.blind_index(session, TENANT, "phone", "+15555550100", 15)
        assert len(keyring.index_keys(session, TENANT, "phone")) == 2
        assert phone_both[1] == phone_v1[0]  # active first, old version still searchable
        newcomer = uuid.uuid4()
        new_key = keyring.data_key_for(session, TENANT, newcomer)
        assert sorted(keyring.subjects_on_old_keys(session, TENANT, limit=None)) \
            == sorted(old_subjects)
        assert len(keyring.subjects_on_old_keys(session, TENANT, limit=2)) == 2
        with pytest.raises(Conflict, match="3 data keys"):
            keyring.finish_tenant_rotation(session, TENANT)
    # old data stays readable mid-rotation, in this process and a fresh one
    for subject, blob in blobs.items():
        assert read(db, Keyring(provider, clock), subject, blob) == subject.bytes
    while True:
        with db.transaction() as session:
            batch = keyring.subjects_on_old_keys(session, TENANT, limit=2)
            for subject in batch:
                old, new = keyring.rotate_subject_key(session, TENANT, subject)
                assert old.key_id != new.key_id
                blob = blobs[subject]
                assert blob_key_id(blob) == old.key_id
                blobs[subject] = new.seal(old.open(blob, ctx(subject)), ctx(subject))
                keyring.drop_data_key(session, TENANT, old.key_id)
        if not batch:
            break
    with db.transaction() as session:
        keyring.finish_tenant_rotation(session, TENANT)
        keyring.finish_tenant_rotation(session, TENANT)  # idempotent
        assert keyring.data_key_for(session, TENANT, newcomer).key_id == new_key.key_id
        assert len(keyring.index_keys(session, TENANT, "phone")) == 1
        states = dict(session.execute(select(tenant_keys.c.version, tenant_keys.c.state)
                                      .where(tenant_keys.c.tenant_id == TENANT)).all())
    assert states == {1: "destroyed", 2: "active"}
    for reader in (keyring, Keyring(provider, clock)):
        for subject, blob in blobs.items():
            assert read(db, reader, subject, blob) == subject.bytes


def test_rotate_subject_without_old_key(db: Database, keyring: Keyring) -> None:
    subject = uuid.uuid4()
    seal(db, keyring, subject, b"x")
    with db.transaction() as session, pytest.raises(Exception, match="nothing to rotate"):
        keyring.rotate_subject_key(session, TENANT, subject)


def test_old_ciphertext_unreadable_after_rotation_and_drop(db: Database,
                                                           keyring: Keyring) -> None:
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"old")
    with db.transaction() as session:
        keyring.start_tenant_rotation(session, TENANT)
        old, _new = keyring.rotate_subject_key(session, TENANT, subject)
        keyring.drop_data_key(session, TENANT, old.key_id)
        keyring.finish_tenant_rotation(session, TENANT)
    with pytest.raises(DataShredded):
        read(db, keyring, subject, blob)


def test_tenant_key_cache_expires(db: Database, keyring: Keyring, kek_path: Path,
                                  clock: FixedClock) -> None:
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"cached")
    with db.transaction() as session:
        keyring.blind_index(session, TENANT, "phone", "+15555550100", 15)
    kek_path.chmod(0o644)  # the provider now refuses: only the cache can answer
    clock.advance(timedelta(seconds=299))
    assert read(db, keyring, subject, blob) == b"cached"
    with db.transaction() as session:
        keyring.blind_index(session, TENANT, "phone", "+15555550100", 15)
    clock.advance(timedelta(seconds=2))
    with pytest.raises(KeyUnavailable, match="chmod 600"):
        read(db, keyring, subject, blob)
    with db.transaction() as session, pytest.raises(KeyUnavailable):
        keyring.blind_index(session, TENANT, "phone", "+15555550100", 15)


def test_zero_ttl_caches_nothing(db: Database, provider: LocalKeyFileProvider,
                                 kek_path: Path, clock: FixedClock) -> None:
    keyring = Keyring(provider, clock, cache_seconds=0)
    subject = uuid.uuid4()
    blob = seal(db, keyring, subject, b"x")
    kek_path.chmod(0o640)
    with pytest.raises(KeyUnavailable):
        read(db, keyring, subject, blob)


def test_data_key_objects_are_usable_after_commit(db: Database, keyring: Keyring) -> None:
    subject = uuid.uuid4()
    with db.transaction() as session:
        key: DataKey = keyring.data_key_for(session, TENANT, subject)
    blob = key.seal(b"later", ctx(subject))
    assert read(db, keyring, subject, blob) == b"later"


def test_a_full_key_cache_evicts_the_oldest_and_never_serves_expired_entries() -> None:
    from datetime import UTC, datetime

    from carecall.crypto.cache import TtlCache

    clock = FixedClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    cache: TtlCache[int, int] = TtlCache(clock, 60, max_entries=100)
    for i in range(1000):
        cache.put(i, i)
    assert len(cache) == 100
    assert cache.get(899) is None
    assert [cache.get(i) for i in (900, 999)] == [900, 999]
    cache.put(900, 900)  # refreshed: now the newest
    clock.advance(timedelta(seconds=30))
    cache.put(1000, 1000)  # evicts 901, the oldest
    assert cache.get(901) is None
    assert cache.get(900) == 900
    clock.advance(timedelta(seconds=31))
    assert cache.get(902) is None  # expired
    assert cache.get(1000) == 1000
    cache.put(1001, 1001)
    assert len(cache) <= 100
