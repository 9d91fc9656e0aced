"""Pure campaign rules: state changes (every pair), retries, windows, templates, outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from carecall.campaigns import rules
from carecall.campaigns.facts import may_mention
from carecall.campaigns.model import (
    CampaignSpec,
    CampaignState,
    Channel,
    Outcome,
    RetryRule,
    TargetKind,
    TargetRule,
    Window,
)
from carecall.campaigns.rules import CampaignAction, CampaignReason
from carecall.patients.model import ContactDetails
from carecall.tenants.model import Purpose

S, A = CampaignState, CampaignAction
ALLOWED = {
    (S.DRAFT, A.PLAN), (S.PLANNED, A.PLAN), (S.PLANNED, A.RUN), (S.RUNNING, A.PAUSE),
    (S.PAUSED, A.RESUME), (S.RUNNING, A.COMPLETE),
    (S.DRAFT, A.CANCEL), (S.PLANNED, A.CANCEL), (S.RUNNING, A.CANCEL), (S.PAUSED, A.CANCEL),
}
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("state", list(CampaignState))
@pytest.mark.parametrize("action", list(CampaignAction))
def test_every_state_and_action(state: CampaignState, action: CampaignAction) -> None:
    decision = rules.transition(state, action)
    assert decision.allowed == ((state, action) in ALLOWED)
    if state in (S.CANCELLED, S.COMPLETED):
        assert decision.reasons == (CampaignReason.FINISHED,)


def test_refusals_say_why() -> None:
    assert rules.transition(S.DRAFT, A.RUN).reasons == (CampaignReason.NOT_PLANNED,)
    assert rules.transition(S.RUNNING, A.RUN).reasons == (CampaignReason.ALREADY_RUNNING,)
    assert rules.transition(S.RUNNING, A.RESUME).reasons == (CampaignReason.NOT_PAUSED,)
    assert rules.transition(S.PLANNED, A.PAUSE).reasons == (CampaignReason.NOT_RUNNING,)


def test_retry_only_after_retryable_outcomes_within_attempts_and_window() -> None:
    rule = RetryRule(max_attempts=2, delay_minutes=30)
    assert rules.retry_at(Outcome.NO_ANSWER, 1, rule, NOW, Window()) == NOW + timedelta(
        minutes=30)
    assert rules.retry_at(Outcome.NO_ANSWER, 2, rule, NOW, Window()) is None
    assert rules.retry_at(Outcome.ANSWERED, 1, rule, NOW, Window()) is None
    closes = Window(end=NOW + timedelta(minutes=30))
    assert rules.retry_at(Outcome.BUSY, 1, rule, NOW, closes) is None  # end is exclusive
    assert rules.retry_at(Outcome.BUSY, 1, rule, NOW,
                          Window(end=NOW + timedelta(minutes=31))) is not None


def test_window_edges() -> None:
    window = Window(NOW, NOW + timedelta(hours=1))
    assert not rules.in_window(window, NOW - timedelta(seconds=1))
    assert rules.in_window(window, NOW)
    assert not rules.in_window(window, NOW + timedelta(hours=1))
    assert rules.requeue_at(None, window) is None
    assert rules.requeue_at(NOW + timedelta(minutes=5), window) == NOW + timedelta(minutes=5)
    assert rules.requeue_at(NOW + timedelta(hours=2), window) is None


def test_render_uses_the_practice_zone_across_dst() -> None:
    text = "{practice} {day} {date} {time} {practice_phone}"
    summer = rules.render(text, practice="Riverside", practice_phone="+16175550100",
                          appointment=datetime(2026, 7, 1, 13, 30, tzinfo=UTC),
                          zone="America/New_York")
    winter = rules.render(text, practice="Riverside", practice_phone="+16175550100",
                          appointment=datetime(2026, 12, 1, 13, 30, tzinfo=UTC),
                          zone="America/New_York")
    assert summer == "Riverside Wednesday July 1 9:30 AM (617) 555-0100"
    assert winter == "Riverside Tuesday December 1 8:30 AM (617) 555-0100"


def _spec(**changes: object) -> CampaignSpec:
    values: dict[str, object] = {
        "purpose": Purpose.APPOINTMENT_REMINDER, "channel": Channel.SMS,
        "template": "{practice}: {day}. Reply STOP to opt out.",
        "targets": TargetRule(TargetKind.PATIENTS, (uuid.uuid4(),))}
    values.update(changes)
    return CampaignSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"template": "  "}, "empty"),
    ({"template": "Hi {first_name}"}, "Unknown placeholder"),
    ({"template": "Hi {"}, "Unknown placeholder"),
    ({"retry": RetryRule(max_attempts=0)}, "between 1 and 5"),
    ({"retry": RetryRule(max_attempts=6)}, "between 1 and 5"),
    ({"window": Window(NOW, NOW)}, "ends before"),
    ({"targets": TargetRule(TargetKind.PATIENTS)}, "at least one patient"),
    ({"targets": TargetRule(TargetKind.APPOINTMENTS_AHEAD, hours_from=48, hours_to=24)},
     "appointment window"),
])
def test_spec_problems(changes: dict[str, object], fragment: str) -> None:
    problems = rules.spec_problems(_spec(**changes))
    assert any(fragment in p for p in problems), problems


def test_a_good_spec_has_no_problems() -> None:
    assert rules.spec_problems(_spec()) == []


@pytest.mark.parametrize(("status", "answered_by", "outcome"), [
    ("completed", "human", Outcome.ANSWERED),
    ("completed", "machine_end_beep", Outcome.VOICEMAIL),
    ("no-answer", None, Outcome.NO_ANSWER),
    ("busy", None, Outcome.BUSY),
    ("failed", None, Outcome.FAILED),
    ("canceled", None, Outcome.FAILED),
    ("in-progress", None, None),
    ("ringing", None, None),
    ("queued", None, None),
])
def test_outcomes_from_provider_status(status: str, answered_by: str | None,
                                       outcome: Outcome | None) -> None:
    assert rules.outcome_from_status(status, answered_by) == outcome


def test_sms_fallback_only_for_the_fallback_channel_and_unanswered_calls() -> None:
    assert rules.fallback_to_sms(Channel.VOICE_WITH_SMS_FALLBACK, Outcome.NO_ANSWER)
    assert not rules.fallback_to_sms(Channel.VOICE_WITH_SMS_FALLBACK, Outcome.ANSWERED)
    assert not rules.fallback_to_sms(Channel.VOICE, Outcome.NO_ANSWER)


PERSON = ContactDetails(uuid.uuid4(), "Maria", "Garcia", date(1961, 12, 1), ("+1",))


@pytest.mark.parametrize(("text", "mentions"), [
    ("Riverside: visit Tuesday 9:30 AM. Reply STOP.", False),
    ("Hello Maria, visit Tuesday.", True),
    ("Hello GARCIA family", True),
    ("Born 1961?", True),
    ("Your visit on December 1 at 9:30", True),   # the birthday's month and day
    ("Your visit on Dec. 1st", True),
    ("Your visit on 1st of December", True),
    ("Your visit on 12/01", True),
    ("Your visit on December 10 at 9:30", False),
    ("Your visit on 12/10", False),
])
def test_may_mention_is_conservative(text: str, mentions: bool) -> None:
    assert may_mention(text, PERSON) is mentions
