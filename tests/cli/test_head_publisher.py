"""While the API runs, signed tree heads are published on a timer when the log grew."""

from __future__ import annotations

import time
from dataclasses import replace

from fastapi.testclient import TestClient

from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.service import latest_head
from carecall.audit.signing import load_or_create_signing_key
from carecall.audit.store import append


def test_heads_published_on_a_timer(carecall: Carecall) -> None:
    carecall.settings = replace(carecall.settings, audit_head_interval=0.05)
    load_or_create_signing_key(carecall.settings.audit_key_path)
    with carecall.db.transaction() as session:
        append(session, AuditEvent(actor="system:test", action="test.event",
                                   resource_type="test"), carecall.clock)
    assert latest_head(carecall.db) is None
    with TestClient(create_api(carecall)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 10
        head = None
        while head is None and time.monotonic() < deadline:
            time.sleep(0.05)
            head = latest_head(carecall.db)
    assert head is not None
    assert head.tree_size == 1
