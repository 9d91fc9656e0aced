"""SMS end to end on loopback: carecall's API served by uvicorn, Twilio stood in for by the
local fake (REST in, signed webhooks out), on both database backends."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import uvicorn
from sqlalchemy import select
from tests.channels.fake_twilio import FakeTwilio
from tests.consent.helpers import PHONE, Practice, count, practice, table_dump
from tests.patients.factories import SYSTEM

from carecall.api.app import create_api
from carecall.app import Carecall, open_app
from carecall.audit.store import audit_entries
from carecall.channels import sms
from carecall.channels.twilio_rest import TwilioUnavailable
from carecall.consent import service
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.errors import InvalidInput, PolicyRefused
from carecall.policy import measure
from carecall.tenants.model import Purpose

APPOINTMENT = datetime(2026, 12, 3, 15, tzinfo=UTC)  # Thu Dec 3, 10:00 AM in Boston
PRACTICE_NUMBER = "+16175550199"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(settings: Settings, fake_twilio: FakeTwilio,
           clock: FixedClock) -> Iterator[tuple[Carecall, str]]:
    port = _port()
    base = f"http://127.0.0.1:{port}"
    app = open_app(settings.with_overrides(public_base_url=base,
                                           **fake_twilio.settings_overrides()), clock=clock)
    server = uvicorn.Server(uvicorn.Config(create_api(app, publish_heads=False),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield app, base
    finally:
        server.should_exit = True
        thread.join(10)
        app.close()


def _text(fake: FakeTwilio, base: str, body: str, sender: str = PHONE) -> tuple[int, str]:
    return fake.deliver(base + sms.PREFIX + "/inbound", {
        "MessageSid": "SM" + "0" * 32, "AccountSid": fake.account_sid, "From": sender,
        "To": PRACTICE_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1"})


def _status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


def _send(app: Carecall, p: Practice) -> sms.SendResult:
    return sms.send_sms(app, SYSTEM, p.tenant.id, patient_id=p.patient_id, phone=PHONE,
                        purpose=Purpose.APPOINTMENT_REMINDER, appointment_at=APPOINTMENT)


# -- templates -----------------------------------------------------------------------------


def test_every_template_fits_one_segment_with_the_demo_practice() -> None:
    for purpose, template in sms.TEMPLATES.items():
        text = sms.render(template, practice="Riverside Family Practice",
                          contact="+16175550100", appointment_at=APPOINTMENT,
                          timezone="America/New_York")
        size = measure(text)
        assert size.encoding == "GSM-7", purpose
        assert size.segments == 1, (purpose, size)
        assert "Reply STOP" in text
        assert text.startswith("Riverside Family Practice:")


def test_reminder_renders_the_day_and_time_in_the_practice_zone() -> None:
    text = sms.render(sms.TEMPLATES[Purpose.APPOINTMENT_REMINDER],
                      practice="Riverside Family Practice", contact="+16175550100",
                      appointment_at=APPOINTMENT, timezone="America/New_York")
    assert text == ("Riverside Family Practice: reminder of your appointment on Thu Dec 3 "
                    "at 10:00 AM. Call +1 617-555-0100 to change. Reply STOP to opt out.")


@pytest.mark.parametrize("template", ["{first_name}: hi", "{practice!r}", "{practice:>9}",
                                      "{practice", "{0}"])
def test_templates_cannot_reach_other_fields(template: str) -> None:
    with pytest.raises(InvalidInput):
        sms.render(template, practice="P", contact="+16175550100")


def test_a_day_placeholder_needs_the_appointment() -> None:
    with pytest.raises(InvalidInput, match="appointment"):
        sms.render("{practice} on {day}", practice="P", contact="+16175550100")


def test_no_template_outside_the_exemption() -> None:
    with pytest.raises(InvalidInput, match="healthcare exemption"):
        sms.template_for(Purpose.BILLING_ENQUIRY)


# -- sending -------------------------------------------------------------------------------


def test_send_goes_to_twilio_and_the_status_callback_updates_history(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio
) -> None:
    app, base = served
    p = practice(app)
    result = _send(app, p)
    assert result.decision.allowed
    assert result.measure.segments == 1
    [sent] = fake_twilio.requests_to("POST", r"Messages\.json$")
    assert sent.authorized
    assert sent.param("To") == PHONE
    assert sent.param("From") == PRACTICE_NUMBER
    assert sent.param("StatusCallback") == base + sms.STATUS_PATH
    assert "Thu Dec 3 at 10:00 AM" in (sent.param("Body") or "")
    [contact] = service.recent_contacts(app, SYSTEM, p.tenant.id, p.patient_id)
    assert (contact.provider_sid, contact.outcome) == (result.sid, "queued")
    status, _ = fake_twilio.deliver(base + sms.STATUS_PATH, {
        "MessageSid": result.sid, "MessageStatus": "delivered",
        "AccountSid": fake_twilio.account_sid})
    assert status == 204
    [contact] = service.recent_contacts(app, SYSTEM, p.tenant.id, p.patient_id)
    assert contact.outcome == "delivered"
    # One a day: a second reminder the same local day is refused, and not sent.
    with pytest.raises(PolicyRefused) as refused:
        _send(app, p)
    assert refused.value.reasons == ("DAILY_LIMIT",)
    assert len(fake_twilio.messages) == 1


def test_no_consent_no_text(served: tuple[Carecall, str], fake_twilio: FakeTwilio) -> None:
    app, _ = served
    p = practice(app, consents=False)
    with pytest.raises(PolicyRefused) as refused:
        _send(app, p)
    assert "NO_WRITTEN_CONSENT" in refused.value.reasons
    assert fake_twilio.messages == {}
    assert count(app, "contact_history") == 0


def test_twilio_refusal_is_recorded_and_does_not_count(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio
) -> None:
    app, _ = served
    p = practice(app)
    fake_twilio.fail_next("POST", r"Messages\.json$", 500)
    with pytest.raises(TwilioUnavailable):
        _send(app, p)
    [contact] = service.recent_contacts(app, SYSTEM, p.tenant.id, p.patient_id)
    assert contact.outcome == "error"
    assert _send(app, p).decision.allowed  # the failed one did not use up the day


# -- inbound -------------------------------------------------------------------------------


def test_stop_then_nothing_is_sent_and_only_one_confirmation(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio, clock: FixedClock
) -> None:
    app, base = served
    p = practice(app)
    status, twiml = _text(fake_twilio, base, "  Stop. ")
    assert status == 200
    assert twiml.count("<Message>") == 1
    assert "opted out" in twiml
    assert "Riverside Practice" in twiml
    status, twiml = _text(fake_twilio, base, "STOP")
    assert status == 200
    assert "<Message>" not in twiml
    status, twiml = _text(fake_twilio, base, "please stop texting me")
    assert "<Message>" not in twiml
    clock.advance(timedelta(seconds=1))
    with pytest.raises(PolicyRefused) as refused:
        _send(app, p)
    assert refused.value.reasons == ("OPTED_OUT",)
    assert fake_twilio.messages == {}
    assert count(app, "opt_outs") == 1


def test_start_opts_back_in_and_help_answers(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio, clock: FixedClock
) -> None:
    app, base = served
    p = practice(app)
    _text(fake_twilio, base, "unsubscribe")
    clock.advance(timedelta(minutes=1))
    status, twiml = _text(fake_twilio, base, "START")
    assert status == 200
    assert "opted back in" in twiml
    _, twiml = _text(fake_twilio, base, "help")
    assert "Riverside Practice" in twiml
    assert "+1 617-555-0100" in twiml
    assert _send(app, p).decision.allowed
    # The next STOP is a new opt-out: it gets its own single confirmation.
    _, twiml = _text(fake_twilio, base, "QUIT")
    assert twiml.count("<Message>") == 1


def test_unclear_text_opts_out_and_queues_a_review(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio
) -> None:
    app, base = served
    p = practice(app)
    _, twiml = _text(fake_twilio, base, "wrong number")
    assert twiml.count("<Message>") == 1
    [review] = service.list_reviews(app, SYSTEM, p.tenant.id, with_text=True)
    assert (review.reason, review.text) == ("UNCLEAR_WRONG_NUMBER", "wrong number")
    with pytest.raises(PolicyRefused):
        _send(app, p)


def test_ordinary_texts_change_nothing(served: tuple[Carecall, str],
                                      fake_twilio: FakeTwilio) -> None:
    app, base = served
    p = practice(app)
    _, twiml = _text(fake_twilio, base, "I'll stop by the front desk, thanks")
    assert "<Message>" not in twiml
    assert count(app, "opt_outs") == 0
    assert _send(app, p).decision.allowed
    assert "front desk" not in "\n".join(table_dump(app))


def test_texts_to_an_unknown_number_are_ignored(served: tuple[Carecall, str],
                                              fake_twilio: FakeTwilio) -> None:
    app, base = served
    practice(app)
    status, twiml = fake_twilio.deliver(base + sms.PREFIX + "/inbound", {
        "MessageSid": "SM1", "From": PHONE, "To": "+16175550111", "Body": "STOP"})
    assert status == 200
    assert "<Message>" not in twiml
    assert count(app, "opt_outs") == 0


def test_bad_signature_is_refused_with_403_and_audited(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio
) -> None:
    app, base = served
    practice(app)
    params = {"MessageSid": "SM9", "From": PHONE, "To": PRACTICE_NUMBER, "Body": "STOP"}
    forged = urllib.request.Request(
        base + sms.PREFIX + "/inbound", data=urlencode(params).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert _status_of(forged) == 403
    signed_elsewhere = fake_twilio.sign(base + sms.PREFIX + "/status", params)
    tampered = urllib.request.Request(
        base + sms.PREFIX + "/inbound", data=urlencode(params).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "X-Twilio-Signature": signed_elsewhere})
    assert _status_of(tampered) == 403
    assert count(app, "opt_outs") == 0
    with app.db.transaction() as session:
        actions = session.execute(select(audit_entries.c.action)).scalars().all()
    assert actions.count("twilio.webhook.rejected") == 2


def test_an_opt_out_committed_while_a_send_waits_stops_it(
    served: tuple[Carecall, str], fake_twilio: FakeTwilio
) -> None:
    """The send decides under the number's lock: an opt-out holding that lock (here, mid
    transaction) is seen by the send that waited for it, and nothing goes out."""
    from carecall.consent.model import OptOutScope, OptOutSource
    from carecall.consent.store import ConsentStore
    from carecall.policy import Channel

    app, _ = served
    p = practice(app)
    outcome: list[BaseException | sms.SendResult] = []

    def send() -> None:
        try:
            outcome.append(_send(app, p))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    with app.db.transaction() as session:
        store = ConsentStore(session, app.keyring, p.tenant.id, app.index_bits)
        store.lock_number(PHONE)
        store.add_opt_out(phone=PHONE, patient_id=None, channel=Channel.SMS,
                          scope=OptOutScope.ALL, source=OptOutSource.SMS_KEYWORD,
                          reason="OPT_OUT_KEYWORD", at=app.clock.now(), confirmed=True,
                          now=app.clock.now())
        worker = threading.Thread(target=send)
        worker.start()
        time.sleep(0.5)
        assert fake_twilio.messages == {}
    worker.join(30)
    [result] = outcome
    assert isinstance(result, PolicyRefused)
    assert result.reasons == ("OPTED_OUT",)
    assert fake_twilio.messages == {}
