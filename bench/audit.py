"""Audit log benchmark: durable appends, sequencing, verify_log and proofs at 1,000,000 entries.

    .venv/bin/python bench/audit.py [--pg postgresql://postgres@127.0.0.1:5432/] [--entries N]

Uses a temporary SQLite file and, with --pg, a scratch PostgreSQL database it creates and
drops. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from carecall.audit import merkle, service
from carecall.audit.model import AuditEvent
from carecall.audit.signing import NoteSigner, load_or_create_signing_key
from carecall.audit.store import append, audit_entries, canonical_body
from carecall.core.clock import SystemClock
from carecall.core.ids import new_id
from carecall.store import migrate
from carecall.store.db import Database

WRITERS = 4
ENTRIES_PER_TX = 10


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor=f"user:{i % 50}", action="patient.read", resource_type="patient",
                      resource_id=f"p{i}", purpose="treatment", request_id=f"req-{i}")


def _writer(url: str, seconds: float, per_tx: int) -> tuple[int, int]:
    db = Database(url)
    clock = SystemClock()
    entries = commits = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        with db.transaction() as s:
            for _ in range(per_tx):
                append(s, _event(entries), clock)
                entries += 1
        commits += 1
    db.dispose()
    return entries, commits


def bench_appends(url: str, seconds: float, per_tx: int) -> tuple[float, float]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        start = time.perf_counter()
        results = pool.starmap(_writer, [(url, seconds, per_tx)] * WRITERS)
        elapsed = time.perf_counter() - start
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results) / elapsed


def bulk_fill(db: Database, total: int) -> None:
    """Fill to ``total`` entries quickly: the same rows ``append`` writes, 20,000 per insert."""
    clock = SystemClock()
    with db.transaction() as s:
        have = s.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
    while have < total:
        rows = []
        for i in range(have, min(total, have + 20_000)):
            event, entry_id, at = _event(i), new_id(), clock.now()
            rows.append({
                "entry_id": entry_id, "recorded_at": at, "tenant_id": None,
                "actor": event.actor, "action": event.action,
                "resource_type": event.resource_type, "resource_id": event.resource_id,
                "outcome": event.outcome, "severity": event.severity,
                "body": canonical_body(entry_id, at, event),
            })
        with db.transaction() as s:
            s.execute(insert(audit_entries), rows)
        have += len(rows)


def run(url: str, label: str, entries: int, rows: list[tuple[str, str, str]]) -> None:
    db = Database(url)
    migrate.upgrade(db.engine)
    for per_tx in (1, ENTRIES_PER_TX, 100):
        eps, cps = bench_appends(url, 5.0, per_tx)
        rows.append((label, f"durable appends, {WRITERS} writer processes, {per_tx}/tx",
                     f"{eps:,.0f} entries/s ({cps:,.0f} commits/s)"))
    bulk_fill(db, entries)
    start = time.perf_counter()
    sequenced = service.sequence_pending(db, batch_size=10_000)
    took = time.perf_counter() - start
    rows.append((label, f"sequence {sequenced:,} entries (batches of 10,000)",
                 f"{sequenced / took:,.0f} entries/s ({took:.1f} s)"))
    key, _ = load_or_create_signing_key(Path(tempfile.mkdtemp()) / "k")
    head = service.publish_head(db, NoteSigner(key, "bench/audit"), SystemClock())
    for columns in (False, True):
        start = time.perf_counter()
        report = service.verify_log(db, key.public_key(), check_columns=columns)
        took = time.perf_counter() - start
        assert report.ok, report.problems
        rows.append((label, f"verify_log of {report.entries_checked:,} entries "
                     f"({report.nodes_checked:,} nodes), check_columns={columns}",
                     f"{took:.2f} s"))
    n = head.tree_size
    gen, ver = [], []
    for i in range(0, n, max(1, n // 500)):
        t0 = time.perf_counter()
        p = service.inclusion_proof(db, i, n)
        t1 = time.perf_counter()
        ok = merkle.verify_inclusion(p.log_index, n, p.leaf_hash, p.hashes, head.root_hash)
        t2 = time.perf_counter()
        assert ok
        gen.append(t1 - t0)
        ver.append(t2 - t1)
    cons = []
    for old in range(1, n, max(1, n // 200)):
        t0 = time.perf_counter()
        service.consistency_proof(db, old, n)
        cons.append(time.perf_counter() - t0)
    ms = 1000
    p99 = sorted(gen)[int(len(gen) * 0.99)]
    rows.append((label, f"inclusion proof generation at size {n:,} (median / p99)",
                 f"{statistics.median(gen) * ms:.3f} / {p99 * ms:.3f} ms"))
    rows.append((label, "inclusion proof verification (median)",
                 f"{statistics.median(ver) * ms:.3f} ms"))
    rows.append((label, f"consistency proof generation at size {n:,} (median)",
                 f"{statistics.median(cons) * ms:.3f} ms"))
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", "SQLite", args.entries, rows)
    if args.pg:
        base = make_url(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"carecall_bench_{os.getpid()}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(base.set(database=name).render_as_string(hide_password=False), "PostgreSQL",
                args.entries, rows)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"\nAudit log benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()})\n")
    print("| backend | measurement | result |\n| --- | --- | --- |")
    for backend, what, result in rows:
        print(f"| {backend} | {what} | {result} |")


if __name__ == "__main__":
    main()
