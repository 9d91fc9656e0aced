"""Crypto fixtures: a real local key file in a temporary directory and a keyring over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from carecall.core.clock import FixedClock
from carecall.crypto.keyring import Keyring
from carecall.crypto.providers import LocalKeyFileProvider, create_local_kek


@pytest.fixture
def kek_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "kek.json"
    assert create_local_kek(path)
    return path


@pytest.fixture
def provider(kek_path: Path) -> LocalKeyFileProvider:
    return LocalKeyFileProvider(kek_path)


@pytest.fixture
def keyring(provider: LocalKeyFileProvider, clock: FixedClock) -> Keyring:
    return Keyring(provider, clock, cache_seconds=300.0)
