"""The ledger's facts for many contacts at once (campaign planning).

``number_facts`` costs four queries per contact; planning 100,000 contacts needs a handful
per thousand. This reads the tenant's opt-outs in force and do-not-call list once, consents
and the last 7 days of history per chunk of patients, and decrypts only rows whose blind
index matches the number asked about (the index narrows, the decrypted value decides, as
everywhere else). Data keys are fetched once per patient per call.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carecall.app import Carecall
from carecall.consent.model import NOT_SENT_OUTCOMES
from carecall.consent.rules import in_force
from carecall.consent.service import HISTORY_WINDOW, NumberFacts
from carecall.consent.store import (
    PHONE_INDEX,
    ConsentStore,
    consents,
    contact_history,
    dnc_numbers,
    opt_outs,
)
from carecall.crypto.blind_index import blind_index
from carecall.policy import model as pm
from carecall.store.any_of import uuid_in

CHUNK = 1000


def _chunks(items: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


@dataclass(frozen=True)
class OpenLists:
    """The tenant's opt-outs in force at ``now`` and its do-not-call list, by blind index
    (number-wide opt-outs) or patient (patient-wide ones); rows still encrypted."""

    now: datetime
    opt_by_index: dict[int, list[Any]]
    opt_by_patient: dict[uuid.UUID, list[Any]]
    dnc_by_index: dict[int, list[Any]]


def open_lists(session: Session, tenant_id: uuid.UUID, now: datetime) -> OpenLists:
    """Read the tenant's opt-outs in force and do-not-call list once; a plan passes the
    answer to every batch's ``facts_for_many`` (dial time re-checks each number)."""
    lists = OpenLists(now, defaultdict(list), defaultdict(list), defaultdict(list))
    for row in session.execute(select(opt_outs).where(
            opt_outs.c.tenant_id == tenant_id, opt_outs.c.at <= now,
            or_(opt_outs.c.lifted_at.is_(None), opt_outs.c.lifted_at > now))).all():
        if row.phone_index is None:
            lists.opt_by_patient[row.patient_id].append(row)
        else:
            lists.opt_by_index[row.phone_index].append(row)
    for row in session.execute(select(dnc_numbers).where(
            dnc_numbers.c.tenant_id == tenant_id, dnc_numbers.c.removed_at.is_(None))).all():
        lists.dnc_by_index[row.phone_index].append(row)
    return lists


def facts_for_many(session: Session, app: Carecall, tenant_id: uuid.UUID,
                   targets: Sequence[tuple[uuid.UUID, str]],
                   now: datetime, lists: OpenLists | None = None) -> list[NumberFacts]:
    """``number_facts`` for each (patient id, E.164 number), in order, in the caller's unit
    of work (no audit: the caller audits its plan). Numbers must already be normalised.
    ``lists`` (from ``open_lists`` at the same ``now``) spares re-reading them per batch."""
    store = ConsentStore(session, app.keyring, tenant_id, app.index_bits)
    keys = app.keyring.index_keys(session, tenant_id, PHONE_INDEX)
    indexes = {phone: {blind_index(k, phone, app.index_bits) for k in keys}
               for phone in {phone for _, phone in targets}}
    patients = sorted({pid for pid, _ in targets})

    consent_rows: dict[uuid.UUID, list[object]] = defaultdict(list)
    history: dict[uuid.UUID, list[pm.PastContact]] = defaultdict(list)
    since = now - HISTORY_WINDOW
    for chunk in _chunks(patients):
        # Every column but the evidence (a signed form can be megabytes).
        for row in session.execute(select(*[c for c in consents.c if c.name != "evidence"])
                                   .where(
                consents.c.tenant_id == tenant_id, uuid_in(session, consents.c.patient_id, chunk))
                .order_by(consents.c.given_at, consents.c.id)).all():
            consent_rows[row.patient_id].append(row)
        for row in session.execute(
                select(contact_history.c.patient_id, contact_history.c.channel,
                       contact_history.c.at, contact_history.c.purpose,
                       contact_history.c.outcome)
                .where(contact_history.c.tenant_id == tenant_id,
                       uuid_in(session, contact_history.c.patient_id, chunk),
                       contact_history.c.at >= since, contact_history.c.at <= now)
                .order_by(contact_history.c.at)).all():
            if row.outcome not in NOT_SENT_OUTCOMES:
                history[row.patient_id].append(
                    pm.PastContact(pm.Channel(row.channel), row.at, row.purpose))

    if lists is None or lists.now != now:
        lists = open_lists(session, tenant_id, now)
    opt_by_index, opt_by_patient = lists.opt_by_index, lists.opt_by_patient
    dnc_by_index = lists.dnc_by_index

    # Only rows whose index matches a number asked about are decrypted: fetch their keys
    # (one per patient, plus the tenant's contact-numbers key) in a few queries.
    blobs: list[bytes | None] = []
    for pid, phone in targets:
        wanted = indexes[phone]
        blobs += [r.phone for r in consent_rows.get(pid, ())  # type: ignore[attr-defined]
                  if r.phone_index in wanted]  # type: ignore[attr-defined]
        blobs += [r.phone for i in wanted for r in opt_by_index.get(i, ())]
        blobs += [r.phone for i in wanted for r in dnc_by_index.get(i, ())]
    store.preload_keys(blobs)

    out: list[NumberFacts] = []
    for pid, phone in targets:
        wanted = indexes[phone]
        found = [store.consent_from(r) for r in consent_rows.get(pid, ())
                 if r.phone_index in wanted]  # type: ignore[attr-defined]
        given = tuple(pm.Consent(c.kind, c.form, c.given_at, c.revoked_at)
                      for c in found if c.phone == phone)
        candidates = [store.opt_out_from(r) for i in wanted
                      for r in opt_by_index.get(i, ())]
        mine = [o for o in candidates if o.phone == phone]
        mine += [store.opt_out_from(r) for r in opt_by_patient.get(pid, ())]
        opted = tuple(pm.OptOut(o.at, o.channel) for o in in_force(mine, now))
        on_dnc = any(store.dnc_from(r).phone == phone
                     for i in wanted for r in dnc_by_index.get(i, ()))
        out.append(NumberFacts(given, opted, on_dnc, tuple(history.get(pid, ()))))
    return out
