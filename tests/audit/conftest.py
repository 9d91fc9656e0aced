"""Audit-test fixtures: a session-wide signing key."""

from __future__ import annotations

import pytest

from carecall.audit.signing import NoteSigner, load_or_create_signing_key

ORIGIN = "test.carecall/audit"


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NoteSigner:
    key, _ = load_or_create_signing_key(tmp_path_factory.mktemp("audit-key") / "signing.key")
    return NoteSigner(key, ORIGIN)
