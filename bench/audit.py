"""Audit log benchmark: durable appends, sequencing, verify_log and proofs at 1,000,000 entries.

    .venv/bin/python bench/audit.py [--pg postgresql://postgres@127.0.0.1:5432/] [--entries N]
        [--skip-sqlite] [--skip-appends] [--keep DIR]

Uses a temporary SQLite file and, with --pg, a scratch PostgreSQL database it creates and
drops. With --keep DIR the SQLite file, the signing keys and the PostgreSQL database
carecall_bench_keep persist, so ``--skip-appends --keep DIR`` reruns verify and proofs in
about a minute without refilling. On PostgreSQL the audit tables are vacuumed and analysed
after sequencing, as autovacuum would (the local cluster runs without it). ``verify_log``
rows give the wall time and the CPU time of this process and its worker. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carecall.audit import merkle, service
from carecall.audit.model import AuditEvent
from carecall.audit.signing import NoteSigner, load_or_create_signing_key
from carecall.audit.store import append, append_many
from carecall.core.clock import SystemClock
from carecall.store import migrate
from carecall.store.db import Database

WRITERS = 4
ENTRIES_PER_TX = 10


def _event(i: int) -> AuditEvent:
    return AuditEvent(actor=f"user:{i % 50}", action="patient.read", resource_type="patient",
                      resource_id=f"p{i}", purpose="treatment", request_id=f"req-{i}")


def _writer(url: str, seconds: float, per_tx: int, many: bool) -> tuple[int, int, float]:
    """One writer process: durable commits (synchronous_commit / synchronous=FULL as
    configured) of ``per_tx`` entries each; returns entries, commits and the time taken."""
    db = Database(url)
    clock = SystemClock()
    entries = commits = 0
    with db.transaction() as s:  # connect and warm up outside the timed loop
        append(s, _event(0), clock)
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        events = [_event(entries + k) for k in range(per_tx)]
        with db.transaction() as s:
            if many:
                append_many(s, events, clock)
            else:
                for e in events:
                    append(s, e, clock)
        entries += per_tx
        commits += 1
    took = time.perf_counter() - start
    db.dispose()
    return entries, commits, took


def bench_appends(url: str, seconds: float, per_tx: int, many: bool) -> tuple[float, float]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        results = pool.starmap(_writer, [(url, seconds, per_tx, many)] * WRITERS)
    # Each writer's rate over its own timed loop (process start-up excluded), summed.
    return sum(r[0] / r[2] for r in results), sum(r[1] / r[2] for r in results)


def bulk_fill(db: Database, total: int) -> None:
    """Fill to ``total`` entries with ``append_many``, 20,000 per transaction."""
    clock = SystemClock()
    with db.transaction() as s:
        have = s.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
    while have < total:
        events = [_event(i) for i in range(have, min(total, have + 20_000))]
        with db.transaction() as s:
            append_many(s, events, clock)
        have += len(events)


Row = tuple[str, str, str, str]
APPEND_TARGET = ">= 10,000 entries/s (PostgreSQL)"
VERIFY_TARGET = "< 5 s"
PROOF_TARGET = "< 1 ms"


def run(url: str, label: str, entries: int, seconds: float, rows: list[Row],
        key_dir: Path | None = None) -> None:
    db = Database(url)
    migrate.upgrade(db.engine)
    append_runs = ((False, 1), (False, ENTRIES_PER_TX), (False, 100), (True, ENTRIES_PER_TX),
                   (True, 100))
    for many, per_tx in append_runs if seconds > 0 else ():
        eps, cps = bench_appends(url, seconds, per_tx, many)
        fn = "append_many" if many else "append"
        rows.append((label, f"durable `{fn}`, {WRITERS} writer processes, {per_tx} entries/tx",
                     f"{eps:,.0f} entries/s ({cps:,.0f} commits/s)",
                     APPEND_TARGET if per_tx == 100 else ""))
    bulk_fill(db, entries)
    start = time.perf_counter()
    sequenced = service.sequence_pending(db, batch_size=10_000)
    took = time.perf_counter() - start
    rows.append((label, f"sequence {sequenced:,} entries (batches of 10,000)",
                 f"{sequenced / took:,.0f} entries/s ({took:.1f} s)", ""))
    if db.dialect == "postgresql":
        # What autovacuum does on a real server (this machine's cluster runs without it):
        # the sequencer's update of every entry leaves a dead version of each, and the
        # planner needs statistics.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) audit_entries, audit_tree_nodes"))
    key, _ = load_or_create_signing_key((key_dir or Path(tempfile.mkdtemp())) / f"{label}.key")
    head = service.publish_head(db, NoteSigner(key, "bench/audit"), SystemClock())
    for columns in (False, True):
        cpu = _cpu()
        start = time.perf_counter()
        report = service.verify_log(db, key.public_key(), check_columns=columns)
        took = time.perf_counter() - start
        cpu = _cpu() - cpu
        assert report.ok, report.problems
        rows.append((label, f"`verify_log` of {report.entries_checked:,} entries "
                     f"({report.nodes_checked:,} nodes), check_columns={columns}, "
                     f"{report.slices} slice(s)",
                     f"{took:.2f} s (CPU {cpu:.1f} s in carecall's processes)", VERIFY_TARGET))
    n = head.tree_size
    gen, ver = [], []
    for i in range(0, n, max(1, n // 2000)):
        t0 = time.perf_counter()
        p = service.inclusion_proof(db, i, n)
        t1 = time.perf_counter()
        ok = merkle.verify_inclusion(p.log_index, n, p.leaf_hash, p.hashes, head.root_hash)
        t2 = time.perf_counter()
        assert ok
        gen.append(t1 - t0)
        ver.append(t2 - t1)
    cons, cver = [], []
    for old in range(1, n, max(1, n // 1000)):
        t0 = time.perf_counter()
        c = service.consistency_proof(db, old, n)
        t1 = time.perf_counter()
        ok = merkle.verify_consistency(old, n, c.old_root, c.new_root, c.hashes)
        t2 = time.perf_counter()
        assert ok
        cons.append(t1 - t0)
        cver.append(t2 - t1)
    for what, times in (
        (f"inclusion proof generation at size {n:,}", gen),
        ("inclusion proof verification", ver),
        (f"consistency proof generation at size {n:,}", cons),
        ("consistency proof verification", cver),
    ):
        rows.append((label, f"{what} (median / p99)", _ms(times), PROOF_TARGET))
    db.dispose()


def _cpu() -> float:
    """CPU seconds of this process and its finished children (verify's worker)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _ms(times: list[float]) -> str:
    p99 = sorted(times)[int(len(times) * 0.99)]
    return f"{statistics.median(times) * 1000:.3f} / {p99 * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL server URL (a scratch database is made)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="per append measurement")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-appends", action="store_true",
                        help="measure only sequencing, verify_log and proofs")
    parser.add_argument("--keep", metavar="DIR",
                        help="reuse (or create and keep) bench.db in DIR and, with --pg, the "
                        "database carecall_bench_keep, so reruns skip the fill")
    args = parser.parse_args()
    seconds = 0.0 if args.skip_appends else args.seconds
    rows: list[Row] = []
    if not args.skip_sqlite:
        if args.keep:
            run(f"sqlite:///{Path(args.keep) / 'bench.db'}", "SQLite", args.entries, seconds, rows,
                Path(args.keep))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run(f"sqlite:///{tmp}/bench.db", "SQLite", args.entries, seconds, rows)
    if args.pg and args.keep:
        base = make_url(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if conn.execute(text(
                "SELECT 1 FROM pg_database WHERE datname = 'carecall_bench_keep'"
            )).first() is None:
                conn.execute(text('CREATE DATABASE "carecall_bench_keep"'))
        admin.dispose()
        run(base.set(database="carecall_bench_keep").render_as_string(hide_password=False),
            "PostgreSQL", args.entries, seconds, rows, Path(args.keep))
    elif args.pg:
        base = make_url(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"carecall_bench_{os.getpid()}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        try:
            run(base.set(database=name).render_as_string(hide_password=False), "PostgreSQL",
                args.entries, seconds, rows)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        print(f"\nPostgreSQL synchronous_commit = {sync}")
    print(f"\nAudit log benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}); SQLite runs "
          "synchronous=FULL in WAL mode\n")
    print("| backend | measurement | result | target |\n| --- | --- | --- | --- |")
    for backend, what, result, target in rows:
        print(f"| {backend} | {what} | {result} | {target} |")


if __name__ == "__main__":
    main()
