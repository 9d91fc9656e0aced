"""Several processes appending to and sequencing one audit log at the same time."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.audit.audit_helpers import concurrent_writer

from carecall.audit import service
from carecall.audit.signing import NoteSigner
from carecall.audit.store import audit_entries
from carecall.core.clock import FixedClock
from carecall.store.db import Database

WORKERS = 4
TRANSACTIONS = 40


def test_concurrent_writers_and_sequencers_give_one_contiguous_log(
    db_url: str, db: Database, clock: FixedClock, signer: NoteSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs on SQLite (a shared file) and, with CARECALL_TEST_DATABASE_URL, real PostgreSQL,
    where only the ``FOR UPDATE`` lock on the tree-state row keeps sequencers apart."""
    # Spawned children import the worker by name, so they need the repository on sys.path.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap_async(
            concurrent_writer, [(db_url, w, TRANSACTIONS) for w in range(WORKERS)]
        ).get(timeout=120)
    written = [entry for ids in results for entry in ids]
    service.sequence_pending(db)
    head = service.publish_head(db, signer, clock)
    with db.transaction() as s:
        rows = s.execute(select(audit_entries.c.entry_id, audit_entries.c.log_index)).all()
    assert sorted(str(r.entry_id) for r in rows) == sorted(written)
    assert len(set(written)) == len(written)
    assert sorted(r.log_index for r in rows) == list(range(len(written)))
    assert head.tree_size == len(written)
    report = service.verify_log(db, signer.private_key.public_key())
    assert report.ok, report.problems
