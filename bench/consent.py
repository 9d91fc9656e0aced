"""Benchmark: the consent ledger's facts for a campaign plan, and the inbound classifier.

Run: .venv/bin/python bench/consent.py [--pg URL] [--patients 10000]

Builds a tenant with ``--patients`` patients, written consents for 80 % of them, 2 % opted
out, 1 % on the do-not-call list and one contact each for 10 %, then times
``consent.bulk.facts_for_many`` over every patient (contacts per second) against
``consent.service.number_facts`` one at a time over a sample, and ``classify_inbound`` over a
mix of texts. Without ``--pg`` it runs on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from carecall.access.model import Principal
from carecall.app import open_app
from carecall.consent import service
from carecall.consent.bulk import facts_for_many
from carecall.consent.model import (
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
    OptOutScope,
    OptOutSource,
)
from carecall.consent.rules import classify_inbound
from carecall.consent.store import ConsentStore
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.ids import new_id
from carecall.crypto.providers import create_local_kek
from carecall.patients.model import PatientInput
from carecall.patients.service import import_patients
from carecall.policy import Channel
from carecall.store import migrate
from carecall.store.db import Database
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant

SYSTEM = Principal.system("bench")
NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
TEXTS = ["STOP", "yes see you then", "please stop texting me", "who is this?", "HELP",
         "I'll stop by tomorrow", "not interested", "Thanks!", "START", "wrong number"]


def _database(pg: str | None, workdir: Path) -> str:
    if not pg:
        return f"sqlite:///{workdir / 'bench.db'}"
    base = make_url(pg.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "carecall_bench_consent" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "carecall_bench_consent"'))
    admin.dispose()
    return base.set(database="carecall_bench_consent").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="")
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="carecall-bench-"))
    url = _database(args.pg, workdir)
    settings = Settings(data_dir=workdir / "data", database_url=url)
    create_local_kek(settings.kek_path)
    db = Database(url)
    migrate.upgrade(db.engine)
    db.dispose()
    app = open_app(settings, clock=FixedClock(NOW))
    tenant = create_tenant(app, SYSTEM, Tenant(
        id=new_id(), slug="bench", display_name="Bench Practice", contact_phone="+16175550100",
        timezone="America/New_York", agent_name="Ava", phone_numbers=("+16175550199",)))
    add_baa(app, SYSTEM, tenant.id, effective_on=date(2026, 1, 1), expires_on=None,
            signed_by="Bench", purposes=frozenset(Purpose))
    n = args.patients
    phones = [f"+1617{2000000 + i:07d}" for i in range(n)]
    started = time.perf_counter()
    ids = import_patients(app, SYSTEM, tenant.id, [
        PatientInput(first_name=f"P{i}", last_name="Bench", dob=date(1970, 1, 1),
                     phones=(phones[i],)) for i in range(n)], source="bench")
    service.add_consents(app, SYSTEM, tenant.id, [
        ConsentInput(pid, phones[i], kind, ConsentForm.WRITTEN, NOW - timedelta(days=30),
                     ConsentSource.IMPORT, Evidence(EvidenceKind.E_SIGNATURE, reference="E"))
        for i, pid in enumerate(ids) if i % 5 for kind in (ConsentKind.AUTOMATED_CALLS,
                                                           ConsentKind.TEXT_MESSAGES)])
    service.dnc_import(app, SYSTEM, tenant.id, "\n".join(phones[3::100]).encode())
    with app.db.transaction() as session:  # bulk set-up straight through the store
        store = ConsentStore(session, app.keyring, tenant.id, app.index_bits)
        for i in range(0, n, 50):
            store.add_opt_out(phone=phones[i], patient_id=None, channel=Channel.SMS,
                              scope=OptOutScope.ALL, source=OptOutSource.SMS_KEYWORD,
                              reason="OPT_OUT_KEYWORD", at=NOW - timedelta(days=1),
                              confirmed=True, now=NOW)
        for i in range(0, n, 10):
            store.add_contact(patient_id=ids[i], channel=Channel.SMS,
                              purpose="appointment_reminder", at=NOW - timedelta(days=2),
                              outcome="sent", automated=True, provider_sid=None, ref=None)
    setup = time.perf_counter() - started
    targets = list(zip(ids, phones, strict=True))
    with app.db.transaction() as session:
        t0 = time.perf_counter()
        facts = facts_for_many(session, app, tenant.id, targets, NOW)
        bulk = time.perf_counter() - t0
        sample = targets[:1000]
        t0 = time.perf_counter()
        for pid, phone in sample:
            service.number_facts(session, app, tenant.id, pid, phone, NOW)
        single = (time.perf_counter() - t0) / len(sample)
    assert len(facts) == n
    t0 = time.perf_counter()
    rounds = 20_000
    for i in range(rounds):
        classify_inbound(TEXTS[i % len(TEXTS)])
    classify = rounds / (time.perf_counter() - t0)
    engine = "PostgreSQL" if args.pg else "SQLite"
    print(f"consent ledger, {engine}, {n} patients, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()} {platform.python_version()} (shared 2-core machine)")
    print("| measure | figure |\n|---|---|")
    print(f"| setup (patients, consents, opt-outs, DNC, history) | {setup:.1f} s |")
    print(f"| facts_for_many, all {n} contacts | {bulk:.2f} s ({n / bulk:,.0f} contacts/s) |")
    print(f"| number_facts one at a time (1,000 sample) | {single * 1000:.2f} ms each "
          f"({1 / single:,.0f} contacts/s) |")
    print(f"| classify_inbound | {classify:,.0f} texts/s |")
    app.close()


if __name__ == "__main__":
    main()
