"""The consent ledger's facts about numbers, in the outbound policy's terms.

``gather`` (one pair, dial time) asks the ledger's ``consent.service.number_facts``;
``gather_many`` (a plan's batch of about a thousand pairs) asks its bulk twin
``consent.bulk.facts_for_many``, which is tested equal to it and reads a handful of queries
per thousand, without the consents' evidence blobs. This module only adds the patient's
side: the numbers the patient gave and the identifiers the content rules look for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from carecall.app import Carecall
from carecall.consent.bulk import OpenLists, facts_for_many, open_lists
from carecall.consent.service import NumberFacts, number_facts
from carecall.patients.model import ContactDetails
from carecall.policy import ContactFacts, LineType, PastContact, PatientFacts
from carecall.tenants.model import Tenant

Facts = tuple[ContactFacts, tuple[PastContact, ...]]
Key = tuple[uuid.UUID, str]


def _facts(details: ContactDetails, phone: str, found: NumberFacts) -> Facts:
    contact = ContactFacts(
        phone=phone,
        # The numbers in the patient's record are those the patient gave.
        line_type=LineType.WIRELESS,
        provided_by_patient=phone in details.phones,
        timezone=None,
        consents=found.consents,
        opt_outs=found.opt_outs,
        on_internal_dnc=found.on_internal_dnc,
        patient=PatientFacts(first_name=details.first_name, last_name=details.last_name,
                             dob=details.dob),
    )
    return contact, found.history


def gather(app: Carecall, tenant: Tenant, details: ContactDetails, phone: str,
           now: datetime) -> Facts:
    """One pair, through the ledger's own ``number_facts`` (the dial-time check)."""
    with app.db.transaction() as session:
        found = number_facts(session, app, tenant.id, details.patient_id, phone, now)
    return _facts(details, phone, found)


def lists_for(app: Carecall, tenant: Tenant, now: datetime) -> OpenLists:
    """The tenant's opt-outs in force and do-not-call list, read once for a whole plan."""
    with app.db.transaction() as session:
        return open_lists(session, tenant.id, now)


def gather_many(app: Carecall, tenant: Tenant, pairs: Sequence[tuple[ContactDetails, str]],
                now: datetime, lists: OpenLists | None = None) -> dict[Key, Facts]:
    """Many pairs in one unit of work (callers pass about a thousand, and ``lists`` from
    ``lists_for`` at the same ``now`` so that each batch does not re-read them)."""
    if not pairs:
        return {}
    with app.db.transaction() as session:
        found = facts_for_many(session, app, tenant.id,
                               [(d.patient_id, phone) for d, phone in pairs], now, lists)
    return {(d.patient_id, phone): _facts(d, phone, f)
            for (d, phone), f in zip(pairs, found, strict=True)}
