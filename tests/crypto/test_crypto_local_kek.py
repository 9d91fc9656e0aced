"""The local key file: created private and once, refused when exposed or malformed, rotated
without losing old versions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from carecall.core.config import Settings
from carecall.core.errors import IntegrityFailure, KeyUnavailable
from carecall.crypto.providers import (
    AwsKmsProvider,
    LocalKeyFileProvider,
    build_key_provider,
    create_local_kek,
    wrapped_kek_version,
)

CONTEXT = {"tenant_id": "t-1", "tenant_key_id": "k-1"}


def test_created_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kek.json"
    assert create_local_kek(path) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    before = path.read_bytes()
    assert create_local_kek(path) is False
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["kek.json"]  # no temp files left
    document = json.loads(before)
    assert document["current"] == 1
    assert len(document["keys"]) == 1


def test_wrap_unwrap_and_context_binding(provider: LocalKeyFileProvider) -> None:
    secret = os.urandom(32)
    blob = provider.wrap(secret, CONTEXT)
    assert wrapped_kek_version(blob) == provider.current_version() == "local:1"
    assert secret not in blob
    assert provider.unwrap(blob, CONTEXT) == secret
    with pytest.raises(IntegrityFailure):
        provider.unwrap(blob, {**CONTEXT, "tenant_id": "t-2"})
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityFailure):
        provider.unwrap(bytes(tampered), CONTEXT)
    with pytest.raises(IntegrityFailure):
        provider.unwrap(b"\x07garbage", CONTEXT)


def test_rotation_keeps_old_versions(provider: LocalKeyFileProvider, kek_path: Path) -> None:
    secret = os.urandom(32)
    old = provider.wrap(secret, CONTEXT)
    assert provider.rotate() == "local:2"
    assert stat.S_IMODE(kek_path.stat().st_mode) == 0o600
    new = provider.wrap(secret, CONTEXT)
    assert wrapped_kek_version(new) == "local:2"
    assert provider.unwrap(old, CONTEXT) == secret
    assert provider.unwrap(new, CONTEXT) == secret
    assert sorted(json.loads(kek_path.read_text())["keys"]) == ["1", "2"]
    # another process's provider picks up the rotation from the file
    assert LocalKeyFileProvider(kek_path).current_version() == "local:2"


def test_other_instance_sees_rotation_without_restart(kek_path: Path) -> None:
    first = LocalKeyFileProvider(kek_path)
    second = LocalKeyFileProvider(kek_path)
    assert second.current_version() == "local:1"
    first.rotate()
    blob = first.wrap(b"k" * 32, CONTEXT)
    assert second.current_version() == "local:2"
    assert second.unwrap(blob, CONTEXT) == b"k" * 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_refuses_group_or_other_access(provider: LocalKeyFileProvider, kek_path: Path,
                                       mode: int) -> None:
    kek_path.chmod(mode)
    with pytest.raises(KeyUnavailable, match="chmod 600"):
        provider.check()


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="carecall init"):
        LocalKeyFileProvider(tmp_path / "absent.json").check()


def test_unknown_version_is_unavailable(provider: LocalKeyFileProvider,
                                        tmp_path: Path) -> None:
    other = tmp_path / "other" / "kek.json"
    create_local_kek(other)
    elsewhere = LocalKeyFileProvider(other)
    elsewhere.rotate()
    blob = elsewhere.wrap(os.urandom(32), CONTEXT)  # local:2, which provider lacks
    with pytest.raises(KeyUnavailable, match="restore the key file"):
        provider.unwrap(blob, CONTEXT)


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


GOOD_KEY = "A" * 43 + "="


def doc(current: object, keys: object) -> str:
    return json.dumps({"format": "carecall-kek/1", "current": current, "keys": keys})


@pytest.mark.parametrize(("content", "why"), [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"format": "other", "current": 1, "keys": {}}', "format"),
    ('{"format": "carecall-kek/1", "current": 1, "keys": {}}', "no keys"),
    (doc(1, {"x": {"key": GOOD_KEY}}), "not a positive number"),
    ('{"format": "carecall-kek/1", "current": 1, "keys": {"1": {"key": "!!"}}}', "base64"),
    ('{"format": "carecall-kek/1", "current": 1, "keys": {"1": {"key": "AAAA"}}}',
     "not 32 bytes"),
    ('{"format": "carecall-kek/1", "current": 1, "keys": {"1": "k"}}', "no key"),
    (doc(2, {"1": {"key": GOOD_KEY}}), "current"),
    (doc("1", {"1": {"key": GOOD_KEY}}), "current"),
])
def test_malformed_file_is_refused(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "kek.json"
    _write(path, content)
    with pytest.raises(KeyUnavailable, match="restore it from backup") as caught:
        LocalKeyFileProvider(path).check()
    assert why in caught.value.message
    assert GOOD_KEY not in caught.value.message


def test_hand_written_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    _write(path, json.dumps({"format": "carecall-kek/1", "current": 1,
                             "keys": {"1": {"key": GOOD_KEY}}}))
    provider = LocalKeyFileProvider(path)
    provider.check()
    assert provider.unwrap(provider.wrap(b"z" * 32, CONTEXT), CONTEXT) == b"z" * 32


def test_build_key_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = build_key_provider(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalKeyFileProvider)
    assert local.path == tmp_path / "keys" / "kek.json"
    assert not local.path.exists()  # building never creates or contacts anything
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    kms = build_key_provider(Settings(key_provider="aws-kms", kms_key_id="alias/carecall"))
    assert isinstance(kms, AwsKmsProvider)
    assert kms.key_id == "alias/carecall"
