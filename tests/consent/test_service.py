"""The consent ledger on both backends: consents, opt-outs, reviews, DNC, history, facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.consent.helpers import PHONE, count, practice, table_dump
from tests.patients.factories import SYSTEM

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.consent import service
from carecall.consent.model import (
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
    OptOutScope,
    OptOutSource,
    ReviewStatus,
)
from carecall.core.clock import FixedClock
from carecall.core.errors import InvalidInput, NotFound
from carecall.policy import Channel, Message, Reason, decide
from carecall.tenants.model import Purpose

REMINDER = ("Riverside Practice: reminder of your appointment on Thu Dec 3 at 10:00 AM. "
            "Call +16175550100 to change. Reply STOP to opt out.")


def _decide(app: Carecall, p: object, channel: Channel = Channel.SMS) -> tuple[str, ...]:
    facts = service.policy_facts(app, SYSTEM, p.tenant.id, p.patient_id, PHONE,  # type: ignore[attr-defined]
                                 purpose=Purpose.APPOINTMENT_REMINDER)
    text = REMINDER if channel is Channel.SMS else REMINDER.replace("Reply STOP to opt out",
                                                                   "Press 9 to opt out")
    message = Message(channel, "appointment_reminder", text=text,
                      appointment_at=datetime(2026, 12, 3, 15, tzinfo=UTC))
    return decide(facts.request(app.clock.now(), message)).codes


def test_consents_are_recorded_listed_and_their_evidence_sealed(carecall: Carecall) -> None:
    p = practice(carecall)
    found = service.list_consents(carecall, SYSTEM, p.tenant.id, p.patient_id)
    assert {c.kind for c in found} == {ConsentKind.AUTOMATED_CALLS, ConsentKind.TEXT_MESSAGES}
    assert all(c.phone == PHONE and c.active(carecall.clock.now()) for c in found)
    evidence = service.consent_evidence(carecall, SYSTEM, p.tenant.id, found[0].id)
    assert evidence is not None
    assert evidence.document == b"%PDF-1.7 signed form"
    dump = "\n".join(table_dump(carecall))
    assert "signed form" not in dump
    assert _decide(carecall, p) == ()


def test_written_consent_without_writing_is_refused_and_changes_nothing(
    carecall: Carecall,
) -> None:
    p = practice(carecall, consents=False)
    bad = ConsentInput(p.patient_id, PHONE, ConsentKind.TEXT_MESSAGES, ConsentForm.WRITTEN,
                       carecall.clock.now(), ConsentSource.API)
    with pytest.raises(InvalidInput, match="signed form or an e-signature"):
        service.add_consent(carecall, SYSTEM, p.tenant.id, bad)
    future = ConsentInput(p.patient_id, PHONE, ConsentKind.TEXT_MESSAGES, ConsentForm.VERBAL,
                          carecall.clock.now() + timedelta(days=1), ConsentSource.API)
    with pytest.raises(InvalidInput, match="future"):
        service.add_consent(carecall, SYSTEM, p.tenant.id, future)
    assert count(carecall, "consents") == 0
    assert Reason.NO_WRITTEN_CONSENT in _decide(carecall, p)


def test_revoking_a_consent_takes_effect_now(carecall: Carecall, clock: FixedClock) -> None:
    p = practice(carecall)
    texts = next(c for c in service.list_consents(carecall, SYSTEM, p.tenant.id, p.patient_id)
                 if c.kind is ConsentKind.TEXT_MESSAGES)
    service.revoke_consent(carecall, SYSTEM, p.tenant.id, texts.id, ConsentSource.API)
    assert _decide(carecall, p) == ("NO_WRITTEN_CONSENT",)
    assert _decide(carecall, p, Channel.VOICE) == ()


def test_sms_opt_out_blocks_everything_and_confirms_once(carecall: Carecall) -> None:
    p = practice(carecall)
    first = service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone=PHONE,
                                   channel=Channel.SMS, source=OptOutSource.SMS_KEYWORD,
                                   reason="OPT_OUT_KEYWORD")
    assert first.recorded
    assert first.confirm
    again = service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone="(617) 555-0142",
                                   channel=Channel.SMS, source=OptOutSource.SMS_KEYWORD)
    assert not again.recorded
    assert not again.confirm
    assert _decide(carecall, p) == ("OPTED_OUT",)
    assert _decide(carecall, p, Channel.VOICE) == ("OPTED_OUT",)
    assert count(carecall, "opt_outs") == 1


def test_start_lifts_text_opt_outs_but_not_a_voice_one(carecall: Carecall,
                                                       clock: FixedClock) -> None:
    p = practice(carecall)
    service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone=PHONE, channel=Channel.SMS,
                           source=OptOutSource.SMS_KEYWORD)
    clock.advance(timedelta(minutes=1))
    assert service.record_opt_in(carecall, SYSTEM, p.tenant.id, PHONE) == 1
    assert _decide(carecall, p) == ()
    # A fresh STOP after START is a new opt-out and gets its one confirmation.
    again = service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone=PHONE,
                                   channel=Channel.SMS, source=OptOutSource.SMS_KEYWORD)
    assert again.recorded
    assert again.confirm
    service.record_opt_in(carecall, SYSTEM, p.tenant.id, PHONE)
    voice = service.record_opt_out(carecall, SYSTEM, p.tenant.id, patient_id=p.patient_id,
                                   phone=PHONE, channel=Channel.VOICE,
                                   source=OptOutSource.VOICE_AGENT)
    assert voice.recorded
    assert not voice.confirm
    assert service.record_opt_in(carecall, SYSTEM, p.tenant.id, PHONE) == 0
    assert _decide(carecall, p) == ("OPTED_OUT",)


def test_patient_level_opt_out_covers_every_number(carecall: Carecall) -> None:
    p = practice(carecall)
    service.record_opt_out(carecall, SYSTEM, p.tenant.id, patient_id=p.patient_id,
                           channel=Channel.VOICE, source=OptOutSource.CONSOLE,
                           scope=OptOutScope.ALL)
    assert _decide(carecall, p) == ("OPTED_OUT",)


def test_unclear_message_opts_out_and_a_human_can_dismiss(carecall: Carecall,
                                                          clock: FixedClock) -> None:
    p = practice(carecall)
    result = service.record_opt_out(
        carecall, SYSTEM, p.tenant.id, phone=PHONE, channel=Channel.SMS,
        source=OptOutSource.SMS_TEXT, reason="UNCLEAR_NOT_INTERESTED",
        review_text="not interested", needs_review=True)
    assert result.review_id is not None
    assert result.confirm
    assert _decide(carecall, p) == ("OPTED_OUT",)
    pending = service.list_reviews(carecall, SYSTEM, p.tenant.id, with_text=True)
    assert [(r.reason, r.text) for r in pending] == [("UNCLEAR_NOT_INTERESTED",
                                                      "not interested")]
    assert "not interested" not in "\n".join(table_dump(carecall))
    clock.advance(timedelta(minutes=5))
    service.resolve_review(carecall, SYSTEM, p.tenant.id, result.review_id, revocation=False)
    assert _decide(carecall, p) == ()
    assert service.list_reviews(carecall, SYSTEM, p.tenant.id) == []
    done = service.list_reviews(carecall, SYSTEM, p.tenant.id, status=ReviewStatus.DISMISSED)
    assert len(done) == 1
    with pytest.raises(InvalidInput, match="already resolved"):
        service.resolve_review(carecall, SYSTEM, p.tenant.id, result.review_id,
                               revocation=True)


def test_dnc_add_list_remove(carecall: Carecall) -> None:
    p = practice(carecall)
    assert service.dnc_add(carecall, SYSTEM, p.tenant.id, "617-555-0142")
    assert not service.dnc_add(carecall, SYSTEM, p.tenant.id, PHONE)
    assert [e.phone for e in service.dnc_list(carecall, SYSTEM, p.tenant.id)] == [PHONE]
    assert _decide(carecall, p) == ("DNC",)
    service.dnc_remove(carecall, SYSTEM, p.tenant.id, PHONE)
    assert _decide(carecall, p) == ()
    with pytest.raises(NotFound):
        service.dnc_remove(carecall, SYSTEM, p.tenant.id, PHONE)
    assert count(carecall, "dnc_numbers") == 1  # kept five years, marked removed


def test_dnc_import_all_or_nothing(carecall: Carecall) -> None:
    p = practice(carecall)
    bad = b"+16175550142\n617 555 0143\nnot a number\n\n+1 617 555 01\n"
    with pytest.raises(service.DncImportError) as caught:
        service.dnc_import(carecall, SYSTEM, p.tenant.id, bad)
    assert caught.value.problems == ["line 3: phone: not a valid phone number",
                                     "line 5: phone: not a valid phone number"]
    assert "555" not in caught.value.message
    assert count(carecall, "dnc_numbers") == 0
    good = b"name,phone\nA,+16175550142\nB,(617) 555-0143\nC,+16175550142\n"
    result = service.dnc_import(carecall, SYSTEM, p.tenant.id, good)
    assert (result.added, result.already_listed) == (2, 0)
    again = service.dnc_import(carecall, SYSTEM, p.tenant.id, b"+16175550143\n")
    assert (again.added, again.already_listed) == (0, 1)


def test_history_feeds_the_limits(carecall: Carecall, clock: FixedClock) -> None:
    p = practice(carecall)
    service.record_contact(carecall, SYSTEM, p.tenant.id, patient_id=p.patient_id,
                           channel=Channel.SMS, purpose="appointment_reminder", outcome="error")
    assert _decide(carecall, p) == ()  # nothing went out: does not count
    service.record_contact(carecall, SYSTEM, p.tenant.id, patient_id=p.patient_id,
                           channel=Channel.VOICE, purpose="appointment_reminder",
                           outcome="queued", provider_sid="CA123")
    assert _decide(carecall, p) == ("DAILY_LIMIT",)
    assert service.set_contact_outcome(carecall, SYSTEM, "CA123", "no_answer")
    assert not service.set_contact_outcome(carecall, SYSTEM, "CA404", "no_answer")
    found = service.recent_contacts(carecall, SYSTEM, p.tenant.id, p.patient_id)
    assert [c.outcome for c in found] == ["error", "no_answer"]
    clock.advance(timedelta(days=8))
    assert service.recent_contacts(carecall, SYSTEM, p.tenant.id, p.patient_id) == []


def test_no_plaintext_numbers_at_rest_or_in_audit(carecall: Carecall) -> None:
    p = practice(carecall)
    service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone=PHONE, channel=Channel.SMS,
                           source=OptOutSource.SMS_KEYWORD)
    service.dnc_add(carecall, SYSTEM, p.tenant.id, "+16175550143")
    service.record_contact(carecall, SYSTEM, p.tenant.id, patient_id=p.patient_id,
                           channel=Channel.SMS, purpose="appointment_reminder", outcome="sent")
    dump = "\n".join(table_dump(carecall))
    for digits in ("6175550142", "6175550143", "555-0142", "5550143"):
        assert digits not in dump


def test_other_tenants_cannot_reach_the_ledger(carecall: Carecall) -> None:
    p = practice(carecall)
    other = practice(carecall, consents=False, slug="other", number="+16175550198")
    outsider = Principal(kind="user", id="u1", tenant_id=other.tenant.id,
                         roles=frozenset({"tenant_admin"}),
                         training_valid_until=carecall.clock.now() + timedelta(days=30))
    with pytest.raises(NotFound):
        service.list_consents(carecall, outsider, p.tenant.id, p.patient_id)
    with pytest.raises(NotFound):
        service.list_consents(carecall, SYSTEM, other.tenant.id, p.patient_id)
    with pytest.raises(NotFound):
        service.dnc_add(carecall, outsider, p.tenant.id, PHONE)


def test_bad_numbers_are_refused(carecall: Carecall) -> None:
    p = practice(carecall)
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone="12",
                               channel=Channel.SMS, source=OptOutSource.API)
    with pytest.raises(InvalidInput):
        service.record_opt_out(carecall, SYSTEM, p.tenant.id, channel=Channel.SMS,
                               source=OptOutSource.API)
    assert count(carecall, "opt_outs") == 0


def test_verbal_consent_with_recording_reference(carecall: Carecall) -> None:
    p = practice(carecall, consents=False)
    service.add_consent(carecall, SYSTEM, p.tenant.id, ConsentInput(
        p.patient_id, PHONE, ConsentKind.RECORDING, ConsentForm.VERBAL, carecall.clock.now(),
        ConsentSource.VOICE_AGENT, Evidence(EvidenceKind.VERBAL_RECORDING, reference="RE123")))
    # Verbal consent is on record but is not the written consent automated texts need.
    assert Reason.NO_WRITTEN_CONSENT in _decide(carecall, p)


def test_data_key_rotation_carries_the_ledger(carecall: Carecall) -> None:
    from carecall.patients.service import rotate_tenant_data

    p = practice(carecall)
    service.record_opt_out(carecall, SYSTEM, p.tenant.id, phone="+16175550150",
                           channel=Channel.SMS, source=OptOutSource.SMS_TEXT,
                           reason="UNCLEAR_WRONG_NUMBER", review_text="wrong number",
                           needs_review=True)
    service.dnc_add(carecall, SYSTEM, p.tenant.id, "+16175550151")
    before = _decide(carecall, p)
    rotate_tenant_data(carecall, SYSTEM, p.tenant.id)
    assert _decide(carecall, p) == before == ()
    consents_after = service.list_consents(carecall, SYSTEM, p.tenant.id, p.patient_id)
    assert {c.phone for c in consents_after} == {PHONE}
    ev = service.consent_evidence(carecall, SYSTEM, p.tenant.id, consents_after[0].id)
    assert ev is not None
    assert ev.document == b"%PDF-1.7 signed form"
    assert [e.phone for e in service.dnc_list(carecall, SYSTEM, p.tenant.id)] == [
        "+16175550151"]
    assert not service.dnc_add(carecall, SYSTEM, p.tenant.id, "+16175550151")  # index works
    [review] = service.list_reviews(carecall, SYSTEM, p.tenant.id, with_text=True)
    assert review.text == "wrong number"
    assert len(service.opt_outs(carecall, SYSTEM, p.tenant.id, phone="+16175550150")) == 1
