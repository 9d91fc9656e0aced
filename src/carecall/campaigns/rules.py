"""Pure campaign decisions: state changes, retries, windows, templates, outcome mapping.

Whether a contact is lawful is the outbound policy's job (``carecall.policy``); these rules
decide only how a campaign moves and when its attempts may go.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from carecall.campaigns.model import (
    CampaignSpec,
    CampaignState,
    Channel,
    Outcome,
    RetryRule,
    TargetKind,
    Window,
)
from carecall.core.decision import ALLOW, Decision, deny

S = CampaignState
MAX_ATTEMPTS = 5
MAX_TEMPLATE = 1000
MAX_LABEL = 80
#: Placeholders a template may use; none of them identifies the patient.
PLACEHOLDERS = frozenset({"practice", "practice_phone", "day", "date", "time"})


class CampaignReason(StrEnum):
    NOT_PLANNED = "CAMPAIGN_NOT_PLANNED"
    NOT_RUNNING = "CAMPAIGN_NOT_RUNNING"
    NOT_PAUSED = "CAMPAIGN_NOT_PAUSED"
    FINISHED = "CAMPAIGN_FINISHED"
    ALREADY_RUNNING = "CAMPAIGN_ALREADY_RUNNING"


class CampaignAction(StrEnum):
    PLAN = "plan"
    RUN = "run"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    COMPLETE = "complete"


#: Which states each action may start from.
_FROM: dict[CampaignAction, frozenset[CampaignState]] = {
    CampaignAction.PLAN: frozenset({S.DRAFT, S.PLANNED}),
    CampaignAction.RUN: frozenset({S.PLANNED}),
    CampaignAction.PAUSE: frozenset({S.RUNNING}),
    CampaignAction.RESUME: frozenset({S.PAUSED}),
    CampaignAction.CANCEL: frozenset({S.DRAFT, S.PLANNED, S.RUNNING, S.PAUSED}),
    CampaignAction.COMPLETE: frozenset({S.RUNNING}),
}
_TO: dict[CampaignAction, CampaignState] = {
    CampaignAction.PLAN: S.PLANNED,
    CampaignAction.RUN: S.RUNNING,
    CampaignAction.PAUSE: S.PAUSED,
    CampaignAction.RESUME: S.RUNNING,
    CampaignAction.CANCEL: S.CANCELLED,
    CampaignAction.COMPLETE: S.COMPLETED,
}


def transition(state: CampaignState, action: CampaignAction) -> Decision:
    """May a campaign in ``state`` take ``action``? Cancelled and completed are final."""
    if state in (S.CANCELLED, S.COMPLETED):
        return deny(CampaignReason.FINISHED)
    if state in _FROM[action]:
        return ALLOW
    if action is CampaignAction.RUN and state in (S.RUNNING, S.PAUSED):
        return deny(CampaignReason.ALREADY_RUNNING)
    if action is CampaignAction.RUN or action is CampaignAction.PLAN:
        return deny(CampaignReason.NOT_PLANNED)
    if action is CampaignAction.RESUME:
        return deny(CampaignReason.NOT_PAUSED)
    return deny(CampaignReason.NOT_RUNNING)


def next_state(action: CampaignAction) -> CampaignState:
    return _TO[action]


def accepts_new_attempts(state: CampaignState) -> bool:
    """Only a running campaign sends; a paused one keeps its queue, others drop it."""
    return state is S.RUNNING


def spec_problems(spec: CampaignSpec) -> list[str]:
    """Everything wrong with a campaign request, as one-line messages (empty: valid)."""
    problems: list[str] = []
    if not spec.template.strip():
        problems.append("The message template is empty; write the reminder's text.")
    if len(spec.template) > MAX_TEMPLATE:
        problems.append(f"The message template is over {MAX_TEMPLATE} characters.")
    unknown = template_fields(spec.template) - PLACEHOLDERS
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        problems.append(f"Unknown placeholder(s) in the template; use only {allowed}.")
    if len(spec.label) > MAX_LABEL:
        problems.append(f"The label is over {MAX_LABEL} characters.")
    if not 1 <= spec.retry.max_attempts <= MAX_ATTEMPTS:
        problems.append(f"Attempts per target must be between 1 and {MAX_ATTEMPTS}.")
    if spec.retry.delay_minutes < 1:
        problems.append("The retry delay must be at least one minute.")
    if not 1 <= spec.max_duration_s <= 600:
        problems.append("The maximum call duration must be between 1 and 600 seconds.")
    window = spec.window
    if window.start and window.end and window.end <= window.start:
        problems.append("The campaign window ends before it starts.")
    rule = spec.targets
    if rule.kind is TargetKind.PATIENTS and not rule.patient_ids:
        problems.append("Name at least one patient id, or use an appointment rule.")
    if rule.kind is TargetKind.APPOINTMENTS_AHEAD and not 0 <= rule.hours_from < rule.hours_to:
        problems.append("The appointment window must be 'from' hours before 'to' hours.")
    return problems


def template_fields(template: str) -> frozenset[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return frozenset({"<malformed>"})
    return frozenset(name for _, name, _, _ in parsed if name is not None)


def render(
    template: str,
    *,
    practice: str,
    practice_phone: str,
    appointment: datetime | None,
    zone: str,
) -> str:
    """The message for one target. The appointment's day and time are in the practice's
    zone; they are allowed in a reminder, the patient's identity is not."""
    values: Mapping[str, str] = {"practice": practice, "practice_phone": spoken_phone(
        practice_phone), "day": "", "date": "", "time": ""}
    if appointment is not None:
        local = appointment.astimezone(ZoneInfo(zone))
        values = {
            **values,
            "day": local.strftime("%A"),
            "date": f"{local.strftime('%B')} {local.day}",
            "time": local.strftime("%I:%M %p").lstrip("0"),
        }
    return template.format_map(values)


def spoken_phone(e164: str) -> str:
    digits = e164.removeprefix("+1")
    if len(digits) != 10 or not digits.isdigit():
        return e164
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def appointment_range(now: datetime, hours_from: float, hours_to: float) -> tuple[
        datetime, datetime]:
    return now + timedelta(hours=hours_from), now + timedelta(hours=hours_to)


def in_window(window: Window, at: datetime) -> bool:
    if window.start is not None and at < window.start:
        return False
    return window.end is None or at < window.end


def retry_at(
    outcome: Outcome,
    attempts_made: int,
    rule: RetryRule,
    now: datetime,
    window: Window,
) -> datetime | None:
    """When to try again after ``outcome``, or None when this target is finished."""
    if outcome not in rule.on or attempts_made >= rule.max_attempts:
        return None
    when = now + timedelta(minutes=rule.delay_minutes)
    if not in_window(window, when):
        return None
    return when


def requeue_at(retry_after: datetime | None, window: Window) -> datetime | None:
    """A dial-time denial where only time stands in the way (calling hours, daily limit):
    try again then, if the campaign's window still allows it."""
    if retry_after is None or not in_window(window, retry_after):
        return None
    return retry_after


def fallback_to_sms(channel: Channel, outcome: Outcome) -> bool:
    """Voice with SMS fallback: a call nobody picked up is followed by a text."""
    return channel is Channel.VOICE_WITH_SMS_FALLBACK and outcome in (
        Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED)


#: Twilio call statuses (and AnsweredBy) to outcomes.
_TWILIO_CALL: dict[str, Outcome] = {
    "completed": Outcome.ANSWERED,
    "busy": Outcome.BUSY,
    "no-answer": Outcome.NO_ANSWER,
    "failed": Outcome.FAILED,
    "canceled": Outcome.FAILED,
    "delivered": Outcome.DELIVERED,
    "undelivered": Outcome.UNDELIVERED,
    "sent": Outcome.SENT,
}
#: Statuses after which nothing more will happen to a call or message.
FINAL_STATUSES = frozenset(_TWILIO_CALL)


def outcome_from_status(status: str, answered_by: str | None = None) -> Outcome | None:
    """A final provider status as an outcome; None while the call is still going."""
    outcome = _TWILIO_CALL.get(status.lower())
    if outcome is Outcome.ANSWERED and answered_by and answered_by.startswith("machine"):
        return Outcome.VOICEMAIL
    return outcome


#: Twilio message statuses (a status callback's ``MessageStatus``) to outcomes; the
#: statuses before the carrier has it (accepted, scheduled, queued, sending) say nothing.
_TWILIO_TEXT: dict[str, Outcome] = {
    "sent": Outcome.SENT,
    "delivered": Outcome.DELIVERED,
    "read": Outcome.DELIVERED,
    "undelivered": Outcome.UNDELIVERED,
    "failed": Outcome.FAILED,
    "canceled": Outcome.FAILED,
}


def outcome_from_text_status(status: str) -> Outcome | None:
    """A message status as an outcome; None while the text has not reached the carrier."""
    return _TWILIO_TEXT.get(status.strip().lower())


def final(outcome: Outcome, rule: RetryRule) -> bool:
    return outcome not in rule.on
