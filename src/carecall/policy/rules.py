"""The outbound policy: may this practice contact this patient, now, with this message?

``decide`` is a pure function of a ``PolicyRequest``: it returns allow, or deny with every
reason that applies (in ``Reason`` order), and ``retry_after`` when the only reasons are the
time rules (calling hours, daily and weekly limits). Sources are in each rule's module and in
shared/reference/rules.md.

Which rules apply to which contact:

- every contact, automated or placed by hand: a BAA in force and the purpose permitted by it
  (45 CFR 164.502(e)); the number was given by the patient (the exemption's condition, and
  HIPAA's confidential-communications right, 164.522(b)); no texts to landlines; no opt-out;
  not on the internal do-not-call list (64.1200(d)); calling hours (64.1200(c)(1)).
- automated contact only (what the TCPA and the healthcare exemption govern): the exempt
  purposes, written consent of the channel's kind (carecall asks written consent for all
  automated contact), the daily and weekly limits, and every content rule (length, opt-out
  notice, provider named, prohibited language, identifiers).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from carecall.policy import content, hours, limits
from carecall.policy.model import (
    TIME_REASONS,
    Channel,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    PolicyDecision,
    PolicyRequest,
    Reason,
)

#: 47 CFR 64.1200(a)(9)(iv): the purposes of the healthcare exemption (FCC 15-72 para. 146).
#: ``lab_results`` is for telling the patient results are available, never the results.
EXEMPT_PURPOSES = frozenset({
    "appointment_reminder",
    "wellness_checkup",
    "hospital_preregistration",
    "preoperative_instructions",
    "lab_results",
    "post_discharge_followup",
    "prescription_notification",
    "home_healthcare_instructions",
})

_CONSENT_FOR = {Channel.VOICE: ConsentKind.AUTOMATED_CALLS, Channel.SMS: ConsentKind.TEXT_MESSAGES}

#: How far ahead retry_after is looked for; past it the time rules are taken never to pass.
_MAX_STEPS = 64


def has_written_consent(contact: ContactFacts, channel: Channel, now: datetime) -> bool:
    """A written consent of the channel's kind, given at or before ``now`` (a consent signed
    in the same instant exists at that instant) and not revoked at or before ``now``."""
    kind = _CONSENT_FOR[channel]
    return any(
        c.kind == kind
        and c.form == ConsentForm.WRITTEN
        and c.given_at <= now
        and (c.revoked_at is None or c.revoked_at > now)
        for c in contact.consents
    )


def opted_out(contact: ContactFacts, now: datetime) -> bool:
    """Any opt-out at or before ``now``, on either channel: FCC 24-24 makes a revocation
    given in answer to one kind of message apply to every robocall and robotext."""
    return any(o.at <= now for o in contact.opt_outs)


def _time_reasons(at: datetime, zones: tuple[ZoneInfo, ...], past: list[datetime],
                  automated: bool, daily: int, weekly: int) -> list[Reason]:
    found: list[Reason] = []
    if not hours.within_hours(at, zones):
        found.append(Reason.OUTSIDE_CALLING_HOURS)
    if automated and not limits.daily_free(at, past, zones, daily):
        found.append(Reason.DAILY_LIMIT)
    if automated and not limits.weekly_free(at, past, weekly):
        found.append(Reason.WEEKLY_LIMIT)
    return found


def _content_reasons(request: PolicyRequest, zones: tuple[ZoneInfo, ...]) -> list[Reason]:
    appointment = request.message.appointment_at
    if appointment is not None and zones:
        # the day and time the patient reads, as a naive local time (cheap to hash)
        appointment = appointment.astimezone(zones[0]).replace(tzinfo=None)
    elif appointment is None:
        today = request.now.astimezone(zones[0]).date() if zones else request.now.date()
        day = content.upcoming_day(request.message.text, today, request.contact.patient.dob)
        appointment = datetime.combine(day, time()) if day is not None else None
    return content.content_reasons(request.message, request.tenant, request.contact.patient,
                                   appointment)


def _retry_after(request: PolicyRequest, zones: tuple[ZoneInfo, ...], past: list[datetime],
                 daily: int, weekly: int) -> datetime | None:
    """The earliest instant at which every time rule passes together, found by jumping to
    the latest of each failing rule's own earliest pass (each a lower bound on the joint
    answer, so none is skipped) until all pass; then the consent and opt-out facts are
    checked at that instant too (a consent may be revoked, or an opt-out dated, later)."""
    automated = request.message.automated
    at = request.now
    for _ in range(_MAX_STEPS):
        failing = _time_reasons(at, zones, past, automated, daily, weekly)
        if not failing:
            break
        bounds: list[datetime | None] = []
        if Reason.OUTSIDE_CALLING_HOURS in failing:
            bounds.extend(hours.next_opening(at, tz) for tz in zones)
        if Reason.DAILY_LIMIT in failing:
            bounds.append(limits.next_daily_free(at, past, zones, daily))
        if Reason.WEEKLY_LIMIT in failing:
            bounds.append(limits.next_weekly_free(at, past, weekly))
        if not zones or any(b is None for b in bounds):
            return None
        at = max(b for b in bounds if b is not None)
    else:
        return None
    if opted_out(request.contact, at):
        return None
    if automated and not has_written_consent(request.contact, request.message.channel, at):
        return None
    return at.astimezone(UTC)


def decide(request: PolicyRequest) -> PolicyDecision:
    """Allow, or deny with every applicable reason and, when only time stands in the way,
    the earliest instant the same contact would be allowed."""
    tenant, contact, message, now = request.tenant, request.contact, request.message, request.now
    automated = message.automated
    zones = hours.zones_for(contact.timezone, contact.phone)
    daily, weekly = limits.effective_limits(tenant.daily_limit, tenant.weekly_limit)
    past = [h.at for h in request.history]

    reasons: list[Reason] = []
    if not tenant.baa_active:
        reasons.append(Reason.NO_ACTIVE_BAA)
    if message.purpose not in tenant.permitted_purposes:
        reasons.append(Reason.PURPOSE_NOT_PERMITTED)
    if automated and message.purpose not in EXEMPT_PURPOSES:
        reasons.append(Reason.PURPOSE_NOT_ALLOWED)
    if automated and not has_written_consent(contact, message.channel, now):
        reasons.append(Reason.NO_WRITTEN_CONSENT)
    if not contact.provided_by_patient:
        reasons.append(Reason.NUMBER_NOT_PROVIDED_BY_PATIENT)
    if message.channel == Channel.SMS and contact.line_type == LineType.LANDLINE:
        reasons.append(Reason.NOT_SMS_CAPABLE)
    if opted_out(contact, now):
        reasons.append(Reason.OPTED_OUT)
    if contact.on_internal_dnc:
        reasons.append(Reason.DNC)
    reasons.extend(_time_reasons(now, zones, past, automated, daily, weekly))
    if automated:
        reasons.extend(_content_reasons(request, zones))

    if not reasons:
        return PolicyDecision(True)
    retry = None
    if all(r in TIME_REASONS for r in reasons):
        retry = _retry_after(request, zones, past, daily, weekly)
    return PolicyDecision(False, tuple(reasons), retry_after=retry)
