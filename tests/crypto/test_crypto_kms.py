"""AWS KMS as the KEK, against moto's KMS (AWS itself is unreachable from the tests)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from carecall.core.clock import FixedClock
from carecall.core.errors import IntegrityFailure, KeyUnavailable
from carecall.crypto.envelope import FieldContext, blob_key_id
from carecall.crypto.keyring import Keyring
from carecall.crypto.providers import AwsKmsProvider, wrapped_kek_version
from carecall.store.db import Database

CONTEXT = {"tenant_id": "t-1", "tenant_key_id": "k-1"}


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


@pytest.fixture
def kms_key(kms: Any) -> str:
    return str(kms.create_key(Description="carecall KEK")["KeyMetadata"]["KeyId"])


def test_wrap_unwrap_with_encryption_context(kms: Any, kms_key: str) -> None:
    provider = AwsKmsProvider(kms_key, kms)
    provider.check()
    secret = os.urandom(32)
    blob = provider.wrap(secret, CONTEXT)
    version = wrapped_kek_version(blob)
    assert version.startswith("aws-kms:arn:aws:kms:us-east-1:")
    assert version.endswith(f"{kms_key}#0")
    assert provider.unwrap(blob, CONTEXT) == secret
    with pytest.raises(IntegrityFailure):
        provider.unwrap(blob, {**CONTEXT, "tenant_id": "t-2"})


def test_rotation_changes_version_and_old_wraps_still_open(kms: Any, kms_key: str) -> None:
    provider = AwsKmsProvider(kms_key, kms)
    secret = os.urandom(32)
    old = provider.wrap(secret, CONTEXT)
    new_version = provider.rotate()
    assert new_version.endswith("#1")
    assert wrapped_kek_version(provider.wrap(secret, CONTEXT)) == new_version
    assert provider.unwrap(old, CONTEXT) == secret


def test_disabled_key_is_unavailable(kms: Any, kms_key: str) -> None:
    provider = AwsKmsProvider(kms_key, kms)
    kms.disable_key(KeyId=kms_key)
    with pytest.raises(KeyUnavailable, match="enable it"):
        provider.check()


def test_signing_key_is_refused(kms: Any) -> None:
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]
    with pytest.raises(KeyUnavailable, match="ENCRYPT_DECRYPT"):
        AwsKmsProvider(key["KeyId"], kms).check()


def test_unknown_key_is_unavailable(kms: Any) -> None:
    provider = AwsKmsProvider(str(uuid.uuid4()), kms)
    with pytest.raises(KeyUnavailable, match="kms:DescribeKey"):
        provider.check()
    with pytest.raises(KeyUnavailable, match="kms:DescribeKey"):
        provider.wrap(os.urandom(32), CONTEXT)


def test_local_blob_is_refused_with_advice(kms: Any, kms_key: str) -> None:
    with pytest.raises(KeyUnavailable, match="CARECALL_KEY_PROVIDER"):
        AwsKmsProvider(kms_key, kms).unwrap(b"\x01\x07local:1" + b"\x00" * 60, CONTEXT)


def test_keyring_over_kms(db: Database, clock: FixedClock, kms: Any, kms_key: str) -> None:
    provider = AwsKmsProvider(kms_key, kms)
    tenant, patient = uuid.uuid4(), uuid.uuid4()
    ctx = FieldContext(tenant, "patients", "dob", patient)
    with db.transaction() as session:
        keyring = Keyring(provider, clock)
        keyring.create_tenant_key(session, tenant)
        blob = keyring.data_key_for(session, tenant, patient).seal(b"1980-02-29", ctx)
    provider.rotate()
    with db.transaction() as session:
        assert Keyring(provider, clock).rewrap_all(session) == 1
    with db.transaction() as session:
        fresh = Keyring(provider, clock)
        key = fresh.data_key_by_id(session, tenant, blob_key_id(blob))
        assert key.open(blob, ctx) == b"1980-02-29"
