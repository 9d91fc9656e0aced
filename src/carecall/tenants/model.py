"""Tenants (client practices, the covered entities) and their business associate agreements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal


class Purpose(StrEnum):
    """Every purpose carecall processes PHI for; a BAA permits a subset of them."""

    APPOINTMENT_REMINDER = "appointment_reminder"
    WELLNESS_CHECKUP = "wellness_checkup"
    HOSPITAL_PREREGISTRATION = "hospital_preregistration"
    PREOPERATIVE_INSTRUCTIONS = "preoperative_instructions"
    LAB_RESULTS = "lab_results"
    POST_DISCHARGE_FOLLOWUP = "post_discharge_followup"
    PRESCRIPTION_NOTIFICATION = "prescription_notification"
    HOME_HEALTHCARE_INSTRUCTIONS = "home_healthcare_instructions"
    SCHEDULING = "scheduling"
    BILLING_ENQUIRY = "billing_enquiry"
    PATIENT_SUPPORT = "patient_support"


RecordingMode = Literal["off", "ask"]
BaaStatus = Literal["active", "terminated"]


@dataclass(frozen=True)
class Baa:
    id: uuid.UUID
    tenant_id: uuid.UUID
    effective_on: date
    expires_on: date | None
    signed_by: str
    permitted_purposes: frozenset[Purpose]
    status: BaaStatus = "active"


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    display_name: str
    contact_phone: str
    timezone: str
    agent_name: str
    phone_numbers: tuple[str, ...] = ()
    recording_mode: RecordingMode = "off"
    retain_raw_transcripts: bool = False
    staff_phone: str | None = None
    #: Outbound limits the practice sets stricter than the FCC's (None: the legal limit).
    daily_limit: int | None = None
    weekly_limit: int | None = None
    session_idle_minutes: int = 15
    created_at: datetime | None = None
    baas: tuple[Baa, ...] = field(default_factory=tuple)
