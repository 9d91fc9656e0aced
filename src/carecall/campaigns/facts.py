"""Gathering the outbound policy's facts for campaign targets, and deciding them.

The policy (``carecall.policy.decide``) is pure; this module assembles its input from the
stores through their services: the practice (BAA, limits), the patient's numbers and
identifiers (``patients.service.contact_details``, one audited bulk read per thousand), and
each number's consents, opt-outs, do-not-call entry and contact history
(``consent.service``). The same assembly serves the plan and the dial-time check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.campaigns import rules
from carecall.campaigns.model import Campaign, CampaignSpec, Channel, TargetKind, TargetState
from carecall.consent.bulk import OpenLists
from carecall.core.ids import new_id
from carecall.patients import service as patients
from carecall.patients.model import ContactDetails
from carecall.policy import Channel as PolicyChannel
from carecall.policy import (
    Message,
    PatientFacts,
    PolicyDecision,
    PolicyRequest,
    TenantFacts,
    decide,
)
from carecall.tenants.model import Tenant
from carecall.tenants.rules import active_baa
from carecall.tenants.service import local_date

#: The component that reads patients' numbers for campaigns, in the audit log.
SYSTEM = Principal.system("campaigns")
#: Reason codes of targets the policy never saw (no number to decide on).
NO_PHONE = "NO_PHONE_NUMBER"
PATIENT_UNAVAILABLE = "PATIENT_UNAVAILABLE"
#: Bits of the keyed number tag (the per-number rate limit's key; not reversible without
#: the tenant's key, and unlike the blind index not truncated to collide on purpose).
TAG_BITS = 60


@dataclass(frozen=True)
class TargetIn:
    patient_id: uuid.UUID
    appointment_id: uuid.UUID | None = None
    appointment_at: datetime | None = None


def resolve_targets(app: Carecall, principal: Principal, tenant: Tenant, spec: CampaignSpec,
                    now: datetime) -> list[TargetIn]:
    """The campaign's targets now: its listed patients, or its rule's appointments."""
    rule = spec.targets
    if rule.kind is TargetKind.PATIENTS:
        seen: dict[uuid.UUID, None] = dict.fromkeys(rule.patient_ids)
        return [TargetIn(pid) for pid in seen]
    start, end = rules.appointment_range(now, rule.hours_from, rule.hours_to)
    slots = patients.appointments_between(app, principal, tenant.id, start, end, spec.purpose)
    return [TargetIn(s.patient_id, s.appointment_id, s.start) for s in slots]


def tenant_facts(tenant: Tenant, now: datetime) -> TenantFacts:
    baa = active_baa(tenant.baas, local_date(tenant, now))
    return TenantFacts(
        name=tenant.display_name,
        contact_phone=tenant.contact_phone,
        baa_active=baa is not None,
        permitted_purposes=frozenset(str(p) for p in baa.permitted_purposes) if baa else
        frozenset(),
        daily_limit=tenant.daily_limit,
        weekly_limit=tenant.weekly_limit,
    )


def policy_channel(channel: Channel) -> PolicyChannel:
    return PolicyChannel.SMS if channel is Channel.SMS else PolicyChannel.VOICE


def message_for(campaign: Campaign, tenant: Tenant, channel: Channel,
                appointment_at: datetime | None) -> Message:
    spec = campaign.spec
    text = rules.render(spec.template, practice=tenant.display_name,
                        practice_phone=tenant.contact_phone, appointment=appointment_at,
                        zone=tenant.timezone)
    return Message(
        channel=policy_channel(channel),
        purpose=str(spec.purpose),
        automated=True,
        text=text,
        max_duration_s=float(spec.max_duration_s) if channel is not Channel.SMS else None,
        appointment_at=appointment_at,
    )


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4096)
def _folded_words(text: str) -> tuple[str, frozenset[str]]:
    folded = text.casefold()
    return folded, frozenset(_WORD.findall(folded))


@lru_cache(maxsize=512)
def _birthday_forms(month_number: int, month_name: str, day_number: int) -> re.Pattern[str]:
    month, day = month_name.casefold()[:3], f"0?{day_number}"
    return re.compile("|".join((rf"\b0?{month_number}\s*[/.-]\s*{day}\b",
                                rf"\b{month}\w*\.?\s+{day}(?:st|nd|rd|th)?\b",
                                rf"\b{day}(?:st|nd|rd|th)?\s+(?:of\s+)?{month}")))


def may_mention(text: str, details: ContactDetails) -> bool:
    """Could ``text`` contain this patient's own name or date of birth in any form? When it
    cannot, the identifier check with the patient's identifiers and the check without them
    give the same answer, and the one without is shared by every patient with the same
    message (the plan's cost is otherwise one PHI-detector pass per patient). Conservative:
    any name word, the birth year, or the birth month and day in words or digits counts.
    The text's words and each birthday's pattern are memoised (a plan repeats both)."""
    folded, words = _folded_words(text)
    names = set(_WORD.findall(f"{details.first_name} {details.last_name}".casefold()))
    if not words.isdisjoint(names):
        return True
    dob = details.dob
    if str(dob.year) in folded:
        return True
    return _birthday_forms(dob.month, dob.strftime("%B"), dob.day).search(folded) is not None


class Planner:
    """Decides targets in batches for one campaign (plan time) or one attempt (dial time)."""

    def __init__(self, app: Carecall, principal: Principal, tenant: Tenant,
                 campaign: Campaign) -> None:
        self.app = app
        self.principal = principal
        self.tenant = tenant
        self.campaign = campaign
        self._tag_mac: Any = None
        self._lists: OpenLists | None = None
        self._messages: dict[tuple[Channel, datetime | None], Message] = {}

    def number_tag(self, phone: str) -> str:
        """``blind_index(tag key, phone, TAG_BITS)`` in hex: the HMAC's keyed state is made
        once per planner and copied per number (a plan tags every allowed number)."""
        if self._tag_mac is None:
            with self.app.db.transaction() as session:
                key = self.app.keyring.index_keys(session, self.tenant.id, "campaign_number")[0]
            self._tag_mac = hmac.new(key, digestmod=hashlib.sha256)
        mac = self._tag_mac.copy()
        mac.update(phone.encode("utf-8"))
        return format(int.from_bytes(mac.digest()[:8], "big") >> (64 - TAG_BITS), "x")

    def details(self, patient_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ContactDetails]:
        return patients.contact_details(self.app, self.principal, self.tenant.id,
                                        patient_ids, self.campaign.spec.purpose)

    def decide_one(self, details: ContactDetails, phone: str, channel: Channel,
                   appointment_at: datetime | None, now: datetime) -> PolicyDecision:
        from carecall.campaigns import consent_facts

        contact, history = consent_facts.gather(self.app, self.tenant, details, phone, now)
        return decide(PolicyRequest(
            now=now,
            tenant=tenant_facts(self.tenant, now),
            contact=contact,
            message=message_for(self.campaign, self.tenant, channel, appointment_at),
            history=history,
        ))

    def message(self, channel: Channel, appointment_at: datetime | None) -> Message:
        """``message_for`` once per appointment time (a plan's targets share a few)."""
        key = (channel, appointment_at)
        found = self._messages.get(key)
        if found is None:
            if len(self._messages) >= 65536:
                self._messages.clear()
            found = self._messages[key] = message_for(self.campaign, self.tenant, channel,
                                                      appointment_at)
        return found

    def read_batch(self, batch: Sequence[TargetIn], now: datetime) -> BatchFacts:
        """Everything the policy needs about a batch, from the stores (the I/O half of
        ``decide_batch``; a plan reads the next batch while it decides this one)."""
        from carecall.campaigns import consent_facts

        found = self.details([t.patient_id for t in batch])
        wanted = [(found[t.patient_id], phone) for t in batch if t.patient_id in found
                  for phone in found[t.patient_id].phones]
        if self._lists is None or self._lists.now != now:
            self._lists = consent_facts.lists_for(self.app, self.tenant, now)
        gathered = consent_facts.gather_many(self.app, self.tenant, wanted, now, self._lists)
        return BatchFacts(found, gathered)

    def prepare(self, now: datetime) -> None:
        """Read what every batch shares (the tenant's open lists, the tag key) up front, so
        ``read_batch`` in another thread and ``decide_read`` here share no lazy state."""
        from carecall.campaigns import consent_facts

        if self._lists is None or self._lists.now != now:
            self._lists = consent_facts.lists_for(self.app, self.tenant, now)
        self.number_tag("")

    def decide_batch(self, batch: Sequence[TargetIn], now: datetime) -> list[dict[str, Any]]:
        """One stored row per target: allowed on the first of the patient's numbers the
        policy allows, else denied with the first number's reasons."""
        return self.decide_read(batch, self.read_batch(batch, now), now)

    def decide_read(self, batch: Sequence[TargetIn], read: BatchFacts,
                    now: datetime) -> list[dict[str, Any]]:
        """``decide_batch``'s pure half, on what ``read_batch`` returned."""
        found, gathered = read.details, read.gathered
        channel = (Channel.SMS if self.campaign.spec.channel is Channel.SMS
                   else Channel.VOICE)
        tenant = tenant_facts(self.tenant, now)
        window = self.campaign.spec.window
        no_patient = PatientFacts()
        rows: list[dict[str, Any]] = []
        for target in batch:
            details = found.get(target.patient_id)
            reasons: tuple[str, ...] = (PATIENT_UNAVAILABLE,)
            retry_after, slot, tag, allowed = None, 0, "", False
            if details is not None and not details.phones:
                reasons = (NO_PHONE,)
            message = self.message(channel, target.appointment_at)
            for index, phone in enumerate(details.phones if details else ()):
                contact, history = gathered[(details.patient_id, phone)]  # type: ignore[union-attr]
                if not may_mention(message.text, details):  # type: ignore[arg-type]
                    contact = replace(contact, patient=no_patient)
                decision = decide(PolicyRequest(now=now, tenant=tenant, contact=contact,
                                                message=message, history=history))
                if decision.allowed:
                    reasons, retry_after, slot, allowed = (), None, index, True
                    tag = self.number_tag(phone)
                    break
                if index == 0:
                    reasons, retry_after = decision.codes, decision.retry_after
                    tag = self.number_tag(phone)
            if not allowed and rules.requeue_at(retry_after, window):
                # Only time stands in the way (calling hours, a contact already today): the
                # target is planned for then, and checked again when its time comes.
                allowed = True
            rows.append({
                "id": new_id(),
                "campaign_id": self.campaign.id,
                "tenant_id": self.tenant.id,
                "patient_id": target.patient_id,
                "appointment_id": target.appointment_id,
                "state": str(TargetState.ALLOWED if allowed else TargetState.DENIED),
                "reasons": ",".join(reasons),
                "retry_after": retry_after,
                "phone_slot": slot,
                "number_tag": tag,
                "attempts": 0,
                "outcome": None,
                "decided_at": now,
            })
        return rows


@dataclass(frozen=True)
class BatchFacts:
    """What ``Planner.read_batch`` read for one batch of targets."""

    details: dict[uuid.UUID, ContactDetails]
    gathered: dict[tuple[uuid.UUID, str], Any]
