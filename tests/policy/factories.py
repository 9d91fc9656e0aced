"""Builders of policy requests: a lawful automated reminder, changed one fact at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from carecall.policy.model import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    Message,
    PastContact,
    PatientFacts,
    PolicyRequest,
    TenantFacts,
)

PRACTICE = "Riverside Family Practice"
PRACTICE_PHONE = "+15035550100"
#: 2026-12-01 10:00 in Los Angeles (PST, UTC-8): well inside calling hours.
NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
LA = "America/Los_Angeles"
NY = "America/New_York"

SMS_TEXT = (f"{PRACTICE}: reminder of your appointment tomorrow at 10:00 AM. "
            "Call 503-555-0100 to change it. Reply STOP to opt out.")
VOICE_TEXT = (f"Hello, this is {PRACTICE} with a reminder about your appointment tomorrow "
              "at 10 AM. To confirm, press 1. To stop these calls, say stop or press 9.")

TENANT = TenantFacts(
    name=PRACTICE,
    contact_phone=PRACTICE_PHONE,
    baa_active=True,
    permitted_purposes=frozenset({"appointment_reminder", "lab_results", "billing_enquiry",
                                  "wellness_checkup"}),
)
SIGNED = datetime(2025, 1, 2, 17, 0, tzinfo=UTC)
WRITTEN_SMS = Consent(ConsentKind.TEXT_MESSAGES, ConsentForm.WRITTEN, SIGNED)
WRITTEN_CALLS = Consent(ConsentKind.AUTOMATED_CALLS, ConsentForm.WRITTEN, SIGNED)
CONTACT = ContactFacts(
    phone="+15035550123",
    line_type=LineType.WIRELESS,
    provided_by_patient=True,
    timezone=LA,
    consents=(WRITTEN_SMS, WRITTEN_CALLS),
    patient=PatientFacts("Maria", "Gonzalez", None),
)
SMS = Message(Channel.SMS, "appointment_reminder", automated=True, text=SMS_TEXT)
VOICE = Message(Channel.VOICE, "appointment_reminder", automated=True, text=VOICE_TEXT,
                max_duration_s=60)


def request(*, now: datetime = NOW, tenant: dict[str, Any] | None = None,
            contact: dict[str, Any] | None = None, message: Message = SMS,
            msg: dict[str, Any] | None = None,
            history: tuple[PastContact, ...] = ()) -> PolicyRequest:
    return PolicyRequest(
        now=now,
        tenant=replace(TENANT, **(tenant or {})),
        contact=replace(CONTACT, **(contact or {})),
        message=replace(message, **(msg or {})),
        history=history,
    )


def sent(at: datetime, channel: Channel = Channel.SMS) -> PastContact:
    return PastContact(channel, at, "appointment_reminder")
