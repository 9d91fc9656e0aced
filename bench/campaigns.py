"""Campaign planning benchmark: plan an N-contact reminder campaign on PostgreSQL.

    .venv/bin/python bench/campaigns.py [--pg postgresql://postgres@127.0.0.1:5432/]
        [--contacts 100000] [--keep]

Creates a scratch database (``carecall_bench_campaigns``), loads a practice with N synthetic
patients (one number and one booked appointment 24-48 hours ahead each; 90% with a written
automated-calls consent, 2% opted out, 1% on the do-not-call list, 5% called earlier today),
then times only ``plan_campaign`` (every target read, decided by the outbound policy and
stored with its reasons) and, side by side, the policy alone on the same inputs held in
memory. Loading (not timed) writes the stores' own rows, encrypted and indexed as they do,
with one multi-row insert per table per 5,000 patients: about 100 s for 100,000 (it took
47 minutes row by row through the stores). With ``--keep`` the loaded database is kept and
reused by the next run.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from carecall.access.model import Principal
from carecall.app import Carecall, open_app
from carecall.campaigns import consent_facts, facts
from carecall.campaigns.model import CampaignSpec, Channel, TargetKind, TargetRule
from carecall.campaigns.service import create_campaign, plan_campaign
from carecall.consent.model import (
    ConsentForm,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
    OptOutScope,
    OptOutSource,
)
from carecall.consent.store import _evidence_json, numbers_subject
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.ids import new_id
from carecall.crypto.envelope import KEY_BYTES, DataKey, FieldContext
from carecall.crypto.providers import create_local_kek
from carecall.patients.model import PatientInput
from carecall.policy import Channel as PolicyChannel
from carecall.policy import PolicyRequest, decide
from carecall.store import migrate
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.service import add_baa, create_tenant, load_tenant

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York: calling hours
ADMIN = Principal.system("bench")
DB_NAME = "carecall_bench_campaigns"
LOAD_BATCH = 5000
TEMPLATE = ("Hello, this is {practice} with a reminder of your appointment on {day}, {date} "
            "at {time}. To stop these calls, press 9 to opt out. Questions? Call "
            "{practice_phone}.")
FIRST = ["Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jade"]
LAST = ["Adams", "Brook", "Cole", "Dunn", "Ellis", "Ford", "Gray", "Hale", "Irwin", "Judd"]


def _phone(i: int) -> str:
    return f"+1617{2000000 + i:07d}"


def _scratch(base: str, keep: bool) -> tuple[str, bool]:
    """The scratch database URL, and whether it already holds the data."""
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": DB_NAME}).first() is not None
        if exists and not keep:
            conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
        if not exists or not keep:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return url.set(database=DB_NAME).render_as_string(hide_password=False), exists and keep


def _load(app: Carecall, n: int) -> Tenant:
    """Patients, consents, opt-outs, do-not-call entries and contacts, ``LOAD_BATCH``
    patients per transaction, each table's rows of a batch in one multi-row insert.

    The rows are the stores' own (``PatientStore._sealed_fields``, the keyring's data-key
    wrapping, ``ConsentStore``'s sealing and phone index), built in memory: the stores
    write one row per statement and look each patient's new data key up first, a dozen
    round trips per patient, which made loading 100,000 take most of an hour."""
    rng = random.Random(6)
    tenant = create_tenant(app, ADMIN, Tenant(
        id=new_id(), slug="bench-clinic", display_name="Lakeside Health Partners",
        contact_phone="+16175550100", timezone="America/New_York", agent_name="Ava",
        phone_numbers=("+16175550199",)))
    add_baa(app, ADMIN, tenant.id, effective_on=date(2026, 1, 1), expires_on=None,
            signed_by="Dr. Bench", purposes=frozenset(Purpose))
    keyring = app.keyring
    derived: dict[tuple[object, str], list[bytes]] = {}
    real_index_keys = keyring.index_keys

    def index_keys(session: object, tenant_id: object, column: str) -> list[bytes]:
        # Loading only: no rotation runs, so the tenant's index keys cannot change.
        key = (tenant_id, column)
        if key not in derived:
            derived[key] = real_index_keys(session, tenant_id, column)  # type: ignore[arg-type]
        return derived[key]

    keyring.index_keys = index_keys  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        with app.db.transaction() as session:
            numbers_key = keyring.data_key_for(session, tenant.id, numbers_subject(tenant.id))
        for start in range(0, n, LOAD_BATCH):
            with app.db.transaction() as session:
                batch = _Batch(app, session, tenant.id, numbers_key)
                for i in range(start, min(n, start + LOAD_BATCH)):
                    batch.one(rng, i)
                batch.write()
            done = min(n, start + LOAD_BATCH)
            print(f"  loaded {done}/{n} ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        keyring.index_keys = real_index_keys  # type: ignore[method-assign]
        keyring.clear_cache()
    with app.db.transaction() as session:
        loaded = load_tenant(session, tenant.id)
    assert loaded is not None
    return loaded


class _Batch:
    """One transaction's rows, table by table, written with one ``executemany`` each."""

    def __init__(self, app: Carecall, session: Session, tenant_id: uuid.UUID,
                 numbers_key: DataKey) -> None:
        from carecall.consent.store import ConsentStore
        from carecall.patients.store import PatientStore

        self.session, self.tenant_id, self.numbers_key = session, tenant_id, numbers_key
        self.keyring = app.keyring
        self.patients = PatientStore(session, app.keyring, tenant_id, app.index_bits)
        self.consents = ConsentStore(session, app.keyring, tenant_id, app.index_bits)
        self.tenant_key = app.keyring._active(session, tenant_id)
        self.rows: dict[Table, list[dict[str, Any]]] = {}

    def _add(self, table: Table, **row: Any) -> None:
        self.rows.setdefault(table, []).append(row)

    def _data_key(self, subject: uuid.UUID) -> DataKey:
        """``Keyring.data_key_for`` for a new subject, without its look-up first."""
        from carecall.crypto.keyring import _NONCE, _data_key_aad
        from carecall.crypto.store import data_keys

        key_id = new_id()
        material = secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(_NONCE)
        aad = _data_key_aad(self.tenant_id, subject, key_id, self.tenant_key.id)
        self._add(data_keys, id=key_id, tenant_id=self.tenant_id, subject_id=subject,
                  tenant_key_id=self.tenant_key.id,
                  wrapped=nonce + self.tenant_key.aead.encrypt(nonce, material, aad),
                  created_at=NOW)
        return DataKey(key_id, material)

    def _seal(self, key: DataKey, table: str, column: str, row_id: uuid.UUID,
              value: str) -> bytes:
        return key.seal(value.encode(), FieldContext(self.tenant_id, table, column, row_id))

    def one(self, rng: random.Random, i: int) -> None:
        from carecall.consent.store import consents, contact_history, dnc_numbers, opt_outs
        from carecall.patients.rules import normalise_dob
        from carecall.patients.store import appointments, patient_lookup, patients

        phone, pid = _phone(i), new_id()
        data = PatientInput(
            first_name=FIRST[i % 10], last_name=LAST[(i // 10) % 10],
            dob=date(1940 + i % 60, 1 + i % 12, 1 + i % 28), phones=(phone,))
        key = self._data_key(pid)
        self._add(patients, id=pid, tenant_id=self.tenant_id, created_at=NOW, updated_at=NOW,
                  **self.patients._sealed_fields(key, pid, data))
        for kind, value in (("dob", normalise_dob(data.dob)), ("phone", phone)):
            digest = self.keyring.blind_index(self.session, self.tenant_id, kind, value,
                                              self.patients.index_bits)[0]
            self._add(patient_lookup, tenant_id=self.tenant_id, patient_id=pid, kind=kind,
                      value=digest)
        row_id = new_id()
        self._add(appointments, id=row_id, tenant_id=self.tenant_id, patient_id=pid,
                  start_at=NOW + timedelta(hours=24, minutes=(i * 7) % (24 * 60)),
                  status="booked", created_at=NOW,
                  provider=self._seal(key, "appointments", "provider", row_id, "Dr. Lee"),
                  location=self._seal(key, "appointments", "location", row_id, "Main clinic"))
        index = self.consents.index_of(phone)
        if rng.random() < 0.9:
            row_id = new_id()
            evidence = Evidence(EvidenceKind.E_SIGNATURE, reference=f"es-{i}")
            self._add(consents, id=row_id, tenant_id=self.tenant_id, patient_id=pid,
                      phone_index=index,
                      phone=self._seal(key, "consents", "phone", row_id, phone),
                      kind=str(ConsentKind.AUTOMATED_CALLS), form=str(ConsentForm.WRITTEN),
                      given_at=NOW - timedelta(days=40), source=str(ConsentSource.IMPORT),
                      evidence_kind=str(evidence.kind),
                      evidence=self._seal(key, "consents", "evidence", row_id,
                                          _evidence_json(evidence)),
                      created_at=NOW)
        roll = rng.random()
        if roll < 0.02:
            row_id = new_id()
            self._add(opt_outs, id=row_id, tenant_id=self.tenant_id, patient_id=pid,
                      phone_index=index,
                      phone=self._seal(key, "opt_outs", "phone", row_id, phone),
                      channel=str(PolicyChannel.SMS), scope=str(OptOutScope.ALL),
                      source=str(OptOutSource.SMS_KEYWORD), reason="OPT_OUT_KEYWORD",
                      at=NOW - timedelta(days=3), confirmed=True, created_at=NOW)
        elif roll < 0.03:
            row_id = new_id()
            self._add(dnc_numbers, id=row_id, tenant_id=self.tenant_id, phone_index=index,
                      phone=self._seal(self.numbers_key, "dnc_numbers", "phone", row_id,
                                       phone),
                      source="import", added_at=NOW, added_by="bench")
        elif roll < 0.08:
            self._add(contact_history, id=new_id(), tenant_id=self.tenant_id,
                      patient_id=pid, channel=str(PolicyChannel.VOICE),
                      purpose="appointment_reminder", at=NOW - timedelta(hours=2),
                      outcome="answered", automated=True, provider_sid=None, ref=None,
                      updated_at=NOW - timedelta(hours=2))

    def write(self) -> None:
        for table, rows in self.rows.items():  # insertion order: keys, then patients first
            self.session.execute(insert(table), rows)


def _policy_alone(app: Carecall, tenant: Tenant, campaign_id: object, n: int,
                  sample: int) -> tuple[float, int]:
    """Decisions per second of ``policy.decide`` alone on ``n`` requests built from the
    same facts (gathered for a ``sample`` of targets and cycled, not timed)."""
    from carecall.campaigns.service import get_campaign

    campaign = get_campaign(app, ADMIN, tenant.id, campaign_id)  # type: ignore[arg-type]
    targets = facts.resolve_targets(app, facts.SYSTEM, tenant, campaign.spec, NOW)[:sample]
    planner = facts.Planner(app, facts.SYSTEM, tenant, campaign)
    details = planner.details([t.patient_id for t in targets])
    gathered = consent_facts.gather_many(
        app, tenant, [(details[t.patient_id], details[t.patient_id].phones[0])
                      for t in targets], NOW)
    tenant_facts = facts.tenant_facts(tenant, NOW)
    requests = []
    for i in range(n):
        t = targets[i % len(targets)]
        contact, history = gathered[(t.patient_id, details[t.patient_id].phones[0])]
        requests.append(PolicyRequest(
            now=NOW, tenant=tenant_facts, contact=contact, history=history,
            message=facts.message_for(campaign, tenant, Channel.VOICE, t.appointment_at)))
    started = time.perf_counter()
    allowed = sum(1 for r in requests if decide(r).allowed)
    return time.perf_counter() - started, allowed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default=os.environ.get(
        "CARECALL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--read-ahead", type=int, default=None,
                        help="batches the plan reads ahead in threads (default: the "
                             "service's READ_AHEAD; 0 reads and decides in one thread)")
    args = parser.parse_args()
    if args.read_ahead is not None:
        from carecall.campaigns import service

        service.READ_AHEAD = max(0, args.read_ahead)
    url, loaded = _scratch(args.pg, args.keep)
    data_dir = Path(tempfile.mkdtemp(prefix="carecall-bench-")) if not args.keep else \
        Path(tempfile.gettempdir()) / "carecall-bench-campaigns"
    settings = Settings(data_dir=data_dir, database_url=url)
    if not settings.kek_path.exists():
        create_local_kek(settings.kek_path)
    app = open_app(settings, clock=FixedClock(NOW))
    migrate.upgrade(app.db.engine)
    try:
        with app.db.transaction() as session:
            tenant = load_tenant(session, "bench-clinic") if loaded else None
        if tenant is None:
            print(f"Loading {args.contacts} patients (not timed)...", flush=True)
            tenant = _load(app, args.contacts)
        spec = CampaignSpec(purpose=Purpose.APPOINTMENT_REMINDER, channel=Channel.VOICE,
                            template=TEMPLATE,
                            targets=TargetRule(TargetKind.APPOINTMENTS_AHEAD, hours_from=24,
                                               hours_to=48), label="bench")
        campaign = create_campaign(app, ADMIN, tenant.id, spec)
        app.keyring.clear_cache()
        started = time.perf_counter()
        summary = plan_campaign(app, ADMIN, tenant.id, campaign.id)
        plan_seconds = time.perf_counter() - started
        policy_seconds, policy_allowed = _policy_alone(app, tenant, campaign.id,
                                                       summary.targets, 2000)
    finally:
        app.close()
    print(f"\n{date.today()} on {platform.node()} ({os.cpu_count()} cores, shared), "
          f"PostgreSQL, Python {platform.python_version()}\n")
    print("| measure | contacts | total | decisions/s |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| plan (read, decide, store) | {summary.targets} | {plan_seconds:.1f} s | "
          f"{summary.targets / plan_seconds:,.0f} |")
    print(f"| policy alone (`decide`) | {summary.targets} | {policy_seconds:.1f} s | "
          f"{summary.targets / policy_seconds:,.0f} |")
    print(f"\nallowed {summary.allowed} (deferred {summary.deferred}), denied "
          f"{summary.denied}; reasons {summary.by_reason}; policy-alone allowed "
          f"{policy_allowed}")


if __name__ == "__main__":
    main()
