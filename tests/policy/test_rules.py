"""Each rule of the outbound policy, from a lawful baseline changed one fact at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from tests.policy.factories import (
    NOW,
    SMS,
    VOICE,
    WRITTEN_CALLS,
    WRITTEN_SMS,
    request,
    sent,
)

from carecall.policy import Reason, decide
from carecall.policy.model import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    LineType,
    OptOut,
    PolicyDecision,
)

SECOND = timedelta(seconds=1)


def _codes(decision: PolicyDecision) -> list[str]:
    return list(decision.codes)


@pytest.mark.parametrize("message", [SMS, VOICE], ids=["sms", "voice"])
def test_lawful_baseline_is_allowed(message: object) -> None:
    decision = decide(request(message=message))  # type: ignore[arg-type]
    assert decision.allowed
    assert decision.decision == "allow"
    assert decision.reasons == ()
    assert decision.retry_after is None


def test_no_active_baa() -> None:
    assert _codes(decide(request(tenant={"baa_active": False}))) == ["NO_ACTIVE_BAA"]


def test_purpose_not_permitted_by_baa() -> None:
    decision = decide(request(tenant={"permitted_purposes": frozenset({"lab_results"})}))
    assert _codes(decision) == ["PURPOSE_NOT_PERMITTED"]


@pytest.mark.parametrize("purpose", ["billing_enquiry", "collections", "marketing", "survey",
                                     "scheduling"])
def test_automated_contact_outside_the_exemption_is_not_allowed(purpose: str) -> None:
    decision = decide(request(msg={"purpose": purpose},
                              tenant={"permitted_purposes": frozenset({purpose})}))
    assert _codes(decision) == ["PURPOSE_NOT_ALLOWED"]
    assert decision.retry_after is None


@pytest.mark.parametrize("purpose", ["appointment_reminder", "wellness_checkup",
                                     "hospital_preregistration", "preoperative_instructions",
                                     "lab_results", "post_discharge_followup",
                                     "prescription_notification",
                                     "home_healthcare_instructions"])
def test_every_exempt_purpose_is_allowed(purpose: str) -> None:
    decision = decide(request(msg={"purpose": purpose},
                              tenant={"permitted_purposes": frozenset({purpose})}))
    assert decision.allowed, decision.codes


def test_a_manual_call_may_have_any_purpose_the_baa_permits() -> None:
    manual = replace(VOICE, automated=False, text="", purpose="billing_enquiry")
    assert decide(request(message=manual)).allowed
    not_in_baa = replace(manual, purpose="marketing")
    assert _codes(decide(request(message=not_in_baa))) == ["PURPOSE_NOT_PERMITTED"]


@pytest.mark.parametrize(("message", "consents"), [
    (SMS, ()),
    (SMS, (WRITTEN_CALLS,)),  # consent to calls is not consent to texts
    (VOICE, (WRITTEN_SMS,)),
    (SMS, (replace(WRITTEN_SMS, form=ConsentForm.VERBAL),)),
    (VOICE, (replace(WRITTEN_CALLS, form=ConsentForm.VERBAL),)),
    (VOICE, (Consent(ConsentKind.RECORDING, ConsentForm.WRITTEN, NOW - timedelta(days=1)),)),
], ids=["none", "calls-for-sms", "sms-for-call", "verbal-sms", "verbal-call", "recording"])
def test_automated_contact_needs_written_consent_of_its_kind(message: object,
                                                           consents: tuple[Consent]) -> None:
    decision = decide(request(message=message, contact={"consents": consents}))  # type: ignore[arg-type]
    assert _codes(decision) == ["NO_WRITTEN_CONSENT"]
    assert decision.retry_after is None


@pytest.mark.parametrize(("given", "revoked", "allowed"), [
    (NOW, None, True),                   # given at this very instant: it exists now
    (NOW + SECOND, None, False),         # not given yet
    (NOW - timedelta(days=1), NOW - SECOND, False),  # revoked one second before now
    (NOW - timedelta(days=1), NOW, False),           # revoked at this very instant
    (NOW - timedelta(days=1), NOW + SECOND, True),   # revocation dated later has not happened
    (NOW, NOW, False),
], ids=["given-now", "given-later", "revoked-1s-before", "revoked-now", "revoked-later",
        "given-and-revoked-now"])
def test_consent_at_the_edges_of_now(given: object, revoked: object, allowed: bool) -> None:
    consent = Consent(ConsentKind.TEXT_MESSAGES, ConsentForm.WRITTEN, given, revoked)  # type: ignore[arg-type]
    decision = decide(request(contact={"consents": (consent,)}))
    assert decision.allowed is allowed
    if not allowed:
        assert _codes(decision) == ["NO_WRITTEN_CONSENT"]


def test_a_revoked_consent_does_not_hide_a_valid_one() -> None:
    old = replace(WRITTEN_SMS, revoked_at=NOW - timedelta(days=2))
    fresh = replace(WRITTEN_SMS, given_at=NOW - timedelta(days=1))
    assert decide(request(contact={"consents": (old, fresh)})).allowed


def test_a_call_placed_by_hand_needs_no_consent() -> None:
    manual = replace(VOICE, automated=False)
    assert decide(request(message=manual, contact={"consents": ()})).allowed


def test_number_not_provided_by_patient_applies_to_every_contact() -> None:
    for message in (SMS, VOICE, replace(VOICE, automated=False)):
        decision = decide(request(message=message, contact={"provided_by_patient": False}))
        assert _codes(decision) == ["NUMBER_NOT_PROVIDED_BY_PATIENT"]


def test_no_texts_to_landlines_but_calls_are_fine() -> None:
    landline = {"line_type": LineType.LANDLINE}
    assert _codes(decide(request(contact=landline))) == ["NOT_SMS_CAPABLE"]
    assert decide(request(message=VOICE, contact=landline)).allowed
    manual_text = replace(SMS, automated=False)
    assert _codes(decide(request(message=manual_text, contact=landline))) == ["NOT_SMS_CAPABLE"]


@pytest.mark.parametrize(("at", "opted"), [
    (NOW - timedelta(days=3), True),
    (NOW - SECOND, True),
    (NOW, True),
    (NOW + SECOND, False),
])
def test_opt_out_at_or_before_now(at: object, opted: bool) -> None:
    opt_out = OptOut(at, Channel.SMS)  # type: ignore[arg-type]
    decision = decide(request(contact={"opt_outs": (opt_out,)}))
    assert decision.allowed is not opted
    if opted:
        assert _codes(decision) == ["OPTED_OUT"]
        assert decision.retry_after is None


def test_an_opt_out_on_one_channel_stops_the_other_and_manual_calls() -> None:
    voice_opt_out = (OptOut(NOW - timedelta(hours=1), Channel.VOICE),)
    assert _codes(decide(request(contact={"opt_outs": voice_opt_out}))) == ["OPTED_OUT"]
    manual = replace(VOICE, automated=False)
    sms_opt_out = (OptOut(NOW - timedelta(hours=1), Channel.SMS),)
    assert _codes(decide(request(message=manual, contact={"opt_outs": sms_opt_out}))) == [
        "OPTED_OUT"]


def test_internal_do_not_call_list() -> None:
    assert _codes(decide(request(contact={"on_internal_dnc": True}))) == ["DNC"]
    manual = replace(VOICE, automated=False)
    assert _codes(decide(request(message=manual, contact={"on_internal_dnc": True}))) == ["DNC"]


def test_every_applicable_reason_is_reported_in_contract_order() -> None:
    decision = decide(request(
        now=NOW.replace(hour=5),  # 21:00 the evening before in Los Angeles
        tenant={"baa_active": False, "permitted_purposes": frozenset()},
        contact={"consents": (), "provided_by_patient": False, "line_type": LineType.LANDLINE,
                 "opt_outs": (OptOut(NOW - timedelta(days=1), Channel.SMS),),
                 "on_internal_dnc": True},
        msg={"purpose": "marketing", "text": "Hi Maria, 50% off flu shots this week, " * 5},
    ))
    assert _codes(decision) == [
        "NO_ACTIVE_BAA", "PURPOSE_NOT_PERMITTED", "PURPOSE_NOT_ALLOWED", "NO_WRITTEN_CONSENT",
        "NUMBER_NOT_PROVIDED_BY_PATIENT", "NOT_SMS_CAPABLE", "OPTED_OUT", "DNC",
        "OUTSIDE_CALLING_HOURS", "SMS_TOO_LONG", "CONTENT_HAS_IDENTIFIERS",
        "OPT_OUT_NOTICE_MISSING", "PROVIDER_ID_MISSING", "CONTENT_PROHIBITED"]
    assert decision.retry_after is None
    assert [r.value for r in Reason] == [r.name for r in Reason]


def test_naive_times_are_utc_by_the_projects_convention() -> None:
    naive = NOW.replace(tzinfo=None)
    aware = decide(request(history=(sent(NOW - timedelta(hours=1)),)))
    mixed = decide(request(now=naive, history=(sent(naive - timedelta(hours=1)),),
                           contact={"consents": (replace(WRITTEN_SMS, given_at=naive),)}))
    assert aware.retry_after is not None
    assert aware == mixed
    assert mixed.codes == ("DAILY_LIMIT",)


def test_no_retry_after_when_consent_or_opt_out_changes_before_then() -> None:
    """retry_after is the time the contact would be allowed, not just the time rules: a
    revocation or an opt-out already dated before it means time alone will not do."""
    history = (sent(NOW - timedelta(hours=1)),)
    assert decide(request(history=history)).retry_after is not None
    revoking = (replace(WRITTEN_SMS, revoked_at=NOW + timedelta(hours=2)),)
    assert decide(request(history=history, contact={"consents": revoking})).retry_after is None
    opting = (OptOut(NOW + timedelta(hours=2), Channel.SMS),)
    decision = decide(request(history=history, contact={"opt_outs": opting}))
    assert decision.codes == ("DAILY_LIMIT",)
    assert decision.retry_after is None
