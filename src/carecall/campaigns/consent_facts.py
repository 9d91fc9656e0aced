"""The consent ledger's facts about numbers, in the outbound policy's terms, for many
(patient, number) pairs at once.

``consent.service.number_facts`` answers for one pair with five queries and a blind-index
key derivation per number. A campaign plan asks for tens of thousands of pairs, so this
module asks the same questions of the same tables a batch at a time: one query per table
for a thousand pairs, the tenant's phone index keys derived once, and the data keys of the
batch unwrapped together. It reads through ``ConsentStore`` (which decrypts) and keeps the
ledger's own rules: opt-outs in force (``consent.rules.in_force``), the history window and
the outcomes that were never sent. ``gather`` (one pair, dial time) uses ``number_facts``
itself; a test checks that both agree.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select

from carecall.app import Carecall
from carecall.consent import rules as consent_rules
from carecall.consent.model import NOT_SENT_OUTCOMES, OptOut, OptOutScope, OptOutSource
from carecall.consent.service import HISTORY_WINDOW, number_facts
from carecall.consent.store import (
    PHONE_INDEX,
    ConsentStore,
    consents,
    contact_history,
    dnc_numbers,
    opt_outs,
)
from carecall.crypto.blind_index import blind_index
from carecall.crypto.envelope import blob_key_id
from carecall.patients.model import ContactDetails
from carecall.policy import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    PastContact,
    PatientFacts,
)
from carecall.policy import OptOut as PolicyOptOut
from carecall.tenants.model import Tenant

Facts = tuple[ContactFacts, tuple[PastContact, ...]]
Key = tuple[uuid.UUID, str]


def _contact(details: ContactDetails, phone: str, consents_: tuple[Consent, ...],
             opted: tuple[PolicyOptOut, ...], dnc: bool) -> ContactFacts:
    return ContactFacts(
        phone=phone,
        # The numbers in the patient's record are those the patient gave.
        line_type=LineType.WIRELESS,
        provided_by_patient=phone in details.phones,
        timezone=None,
        consents=consents_,
        opt_outs=opted,
        on_internal_dnc=dnc,
        patient=PatientFacts(first_name=details.first_name, last_name=details.last_name,
                             dob=details.dob),
    )


def gather(app: Carecall, tenant: Tenant, details: ContactDetails, phone: str,
           now: datetime) -> Facts:
    """One pair, through the ledger's own ``number_facts`` (the dial-time check)."""
    with app.db.transaction() as session:
        facts = number_facts(session, app, tenant.id, details.patient_id, phone, now)
    return (_contact(details, phone, facts.consents, facts.opt_outs, facts.on_internal_dnc),
            facts.history)


def gather_many(app: Carecall, tenant: Tenant, pairs: Sequence[tuple[ContactDetails, str]],
                now: datetime) -> dict[Key, Facts]:
    """Many pairs, a query per table per call (callers pass about a thousand)."""
    if not pairs:
        return {}
    with app.db.transaction() as session:
        store = ConsentStore(session, app.keyring, tenant.id, app.index_bits)
        keys = app.keyring.index_keys(session, tenant.id, PHONE_INDEX)
        phones = {phone for _, phone in pairs}
        index = {p: [blind_index(k, p, app.index_bits) for k in keys] for p in phones}
        values = sorted({v for vs in index.values() for v in vs})
        patients = sorted({d.patient_id for d, _ in pairs})

        consent_rows = session.execute(select(consents).where(
            consents.c.tenant_id == tenant.id, consents.c.patient_id.in_(patients))
            .order_by(consents.c.given_at, consents.c.id)).all()
        opt_rows = session.execute(select(opt_outs).where(
            opt_outs.c.tenant_id == tenant.id,
            or_(opt_outs.c.phone_index.in_(values),
                and_(opt_outs.c.patient_id.in_(patients), opt_outs.c.phone_index.is_(None))))
            .order_by(opt_outs.c.at, opt_outs.c.id)).all()
        dnc_rows = session.execute(select(dnc_numbers).where(
            dnc_numbers.c.tenant_id == tenant.id, dnc_numbers.c.phone_index.in_(values),
            dnc_numbers.c.removed_at.is_(None))).all()
        history_rows = session.execute(select(contact_history).where(
            contact_history.c.tenant_id == tenant.id,
            contact_history.c.patient_id.in_(patients),
            contact_history.c.at >= now - HISTORY_WINDOW, contact_history.c.at <= now)
            .order_by(contact_history.c.at, contact_history.c.id)).all()

        blobs = [r.phone for r in (*consent_rows, *opt_rows, *dnc_rows) if r.phone]
        store._keys.update(app.keyring.data_keys_by_ids(session, tenant.id,
                                                        [blob_key_id(b) for b in blobs]))

        by_consent: dict[Key, list[Consent]] = defaultdict(list)
        for r in consent_rows:
            phone = store._phone("consents", r.id, r.phone) or ""
            by_consent[(r.patient_id, phone)].append(Consent(
                ConsentKind(r.kind), ConsentForm(r.form), r.given_at, r.revoked_at))
        by_number: dict[str, list[OptOut]] = defaultdict(list)
        by_patient: dict[uuid.UUID, list[OptOut]] = defaultdict(list)
        for r in opt_rows:
            number = store._phone("opt_outs", r.id, r.phone)
            found = OptOut(id=r.id, phone=number, patient_id=r.patient_id,
                           channel=Channel(r.channel), scope=OptOutScope(r.scope),
                           source=OptOutSource(r.source), reason=r.reason, at=r.at,
                           lifted_at=r.lifted_at, confirmed=bool(r.confirmed))
            if number is None:
                if r.patient_id is not None:
                    by_patient[r.patient_id].append(found)
            else:
                by_number[number].append(found)
        dnc = {store._phone("dnc_numbers", r.id, r.phone) for r in dnc_rows}
        history: dict[uuid.UUID, list[PastContact]] = defaultdict(list)
        for r in history_rows:
            if r.outcome not in NOT_SENT_OUTCOMES:
                history[r.patient_id].append(PastContact(Channel(r.channel), r.at, r.purpose))

    result: dict[Key, Facts] = {}
    for details, phone in pairs:
        pid = details.patient_id
        in_force = consent_rules.in_force([*by_number[phone], *by_patient[pid]], now)
        opted = tuple(PolicyOptOut(o.at, o.channel)
                      for o in sorted(in_force, key=lambda o: (o.at, o.id)))
        contact = _contact(details, phone, tuple(by_consent[(pid, phone)]), opted,
                           phone in dnc)
        result[(pid, phone)] = (contact, tuple(history[pid]))
    return result
