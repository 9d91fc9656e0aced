"""Outcomes that come back through Twilio's webhooks, end to end on loopback: carecall's API
served by uvicorn, Twilio stood in for by the local fake (REST in, signed webhooks out).

A campaign text's delivery receipts and a STOP reply, and a campaign call's conversation
(the patient confirms, or presses 9 to opt out), become the attempt's outcome, its contact
history row and the campaign's report: only forward, whatever the order or repetition of
the callbacks."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import uvicorn
from sqlalchemy import func, select
from tests.campaigns.world import ADMIN, call_requests, demo, voice_campaign
from tests.channels.fake_twilio import FakeTwilio
from tests.channels.voice_helpers import Twiml, demo_caller

from carecall.api.app import create_api
from carecall.app import Carecall, open_app
from carecall.audit.store import audit_entries
from carecall.campaigns import jobs
from carecall.campaigns.model import AttemptStatus, Channel
from carecall.campaigns.service import plan_campaign, report, run_campaign
from carecall.campaigns.store import campaign_attempts, campaign_targets
from carecall.channels import sms
from carecall.consent.service import opt_outs, recent_contacts
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.tenants.model import Tenant

PRACTICE = "+16175550199"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(campaign_settings: Settings, clock: FixedClock) -> Iterator[tuple[Carecall, str]]:
    port = _port()
    base = f"http://127.0.0.1:{port}"
    app = open_app(campaign_settings.with_overrides(public_base_url=base), clock=clock)
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


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _attempts(app: Carecall, campaign: uuid.UUID) -> list[tuple[str, str, str | None]]:
    """(provider sid, status, outcome) of the campaign's placed attempts."""
    with app.db.transaction() as session:
        rows = session.execute(
            select(campaign_attempts.c.provider_sid, campaign_attempts.c.status,
                   campaign_attempts.c.outcome)
            .where(campaign_attempts.c.campaign_id == campaign,
                   campaign_attempts.c.provider_sid.is_not(None))
            .order_by(campaign_attempts.c.placed_at, campaign_attempts.c.id)).all()
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


def _sid_to(app: Carecall, campaign: uuid.UUID, patient_id: uuid.UUID) -> str:
    """The provider sid of the campaign's attempt to this patient."""
    with app.db.transaction() as session:
        return str(session.execute(
            select(campaign_attempts.c.provider_sid)
            .join(campaign_targets, campaign_targets.c.id == campaign_attempts.c.target_id)
            .where(campaign_attempts.c.campaign_id == campaign,
                   campaign_targets.c.patient_id == patient_id)).scalar_one())


def _target_outcomes(app: Carecall, campaign: uuid.UUID) -> list[str | None]:
    with app.db.transaction() as session:
        return sorted(session.execute(
            select(campaign_targets.c.outcome)
            .where(campaign_targets.c.campaign_id == campaign)).scalars(), key=str)


def _audit_count(app: Carecall, action: str) -> int:
    with app.db.transaction() as session:
        return int(session.execute(select(func.count()).where(
            audit_entries.c.action == action)).scalar_one())


def _receipt(fake: FakeTwilio, base: str, sid: str, status: str) -> int:
    code, _ = fake.deliver(base + sms.STATUS_PATH, {
        "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
        "AccountSid": fake.account_sid, "From": PRACTICE, "To": "+16175550142"})
    return code


def _texted(app: Carecall, tenant: Tenant, count: int) -> uuid.UUID:
    """An SMS reminder campaign to the first ``count`` demo patients, run until every text
    is out (the job takes Twilio's "queued" as sent)."""
    campaign = voice_campaign(app, tenant, _ids(app, tenant)[:count], channel=Channel.SMS)
    assert plan_campaign(app, ADMIN, tenant.id, campaign).allowed == count
    run_campaign(app, ADMIN, tenant.id, campaign)
    jobs.work(app, until_idle=True)
    return campaign


def _ids(app: Carecall, tenant: Tenant) -> list[uuid.UUID]:
    from tests.campaigns.world import patient_ids

    return [pid for pid, _ in patient_ids(app, tenant)]


def test_delivery_receipts_reach_the_attempt_history_and_report_in_any_order(
        served: tuple[Carecall, str], fake_twilio: FakeTwilio) -> None:
    app, base = served
    tenant, ids = demo(app)
    campaign = _texted(app, tenant, 3)
    sent = fake_twilio.requests_to("POST", r"Messages\.json$")
    assert [r.param("StatusCallback") for r in sent] == [base + sms.STATUS_PATH] * 3
    (a, _, first), (b, _, _), (c, _, _) = _attempts(app, campaign)
    assert first == "sent"
    assert report(app, ADMIN, tenant.id, campaign).by_outcome == {"sent": 3}
    # a: delivered, then the earlier "sent" arrives late, then "delivered" again.
    for status in ("queued", "delivered", "sent", "delivered"):
        assert _receipt(fake_twilio, base, a, status) == 204
    # b: undelivered after sent; c: failed straight away.
    for sid, status in ((b, "sent"), (b, "undelivered"), (b, "sent"), (c, "failed")):
        assert _receipt(fake_twilio, base, sid, status) == 204
    assert {sid: outcome for sid, _, outcome in _attempts(app, campaign)} == {
        a: "delivered", b: "undelivered", c: "failed"}
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.by_outcome == {"delivered": 1, "undelivered": 1, "failed": 1}
    assert result.by_attempt_status == {"finished": 3}
    assert _target_outcomes(app, campaign) == ["delivered", "failed", "undelivered"]
    history = {c.provider_sid: c.outcome for pid in ids[:3]
               for c in recent_contacts(app, ADMIN, tenant.id, pid, timedelta(days=1))}
    assert history == {a: "delivered", b: "undelivered", c: "failed"}
    # Each change once: the repeated and the late callbacks changed nothing.
    assert _audit_count(app, "campaign.attempt.outcome_update") == 3
    # A receipt for a text no campaign sent is answered and changes nothing.
    assert _receipt(fake_twilio, base, "SM" + "f" * 32, "delivered") == 204
    assert report(app, ADMIN, tenant.id, campaign).by_outcome == result.by_outcome


def test_a_stop_reply_after_a_campaign_text_is_that_attempts_opt_out(
        served: tuple[Carecall, str], fake_twilio: FakeTwilio, clock: FixedClock) -> None:
    app, base = served
    tenant, ids = demo(app)
    campaign = _texted(app, tenant, 2)
    a, b = _sid_to(app, campaign, ids[0]), _sid_to(app, campaign, ids[1])
    assert _receipt(fake_twilio, base, a, "delivered") == 204
    clock.advance(timedelta(hours=2))
    phone, _, _ = demo_caller(0)
    code, twiml = fake_twilio.deliver(base + sms.PREFIX + "/inbound", {
        "MessageSid": "SM" + "1" * 32, "AccountSid": fake_twilio.account_sid,
        "From": phone, "To": PRACTICE, "Body": "STOP", "NumMedia": "0"})
    assert code == 200
    assert twiml.count("<Message>") == 1  # the one confirmation
    assert len(opt_outs(app, ADMIN, tenant.id, phone=phone)) == 1
    # A late receipt does not undo the opt-out; a second STOP changes nothing.
    assert _receipt(fake_twilio, base, a, "delivered") == 204
    fake_twilio.deliver(base + sms.PREFIX + "/inbound", {
        "MessageSid": "SM" + "2" * 32, "AccountSid": fake_twilio.account_sid,
        "From": phone, "To": PRACTICE, "Body": "stop", "NumMedia": "0"})
    assert {sid: outcome for sid, _, outcome in _attempts(app, campaign)} == {
        a: "opted_out", b: "sent"}
    assert report(app, ADMIN, tenant.id, campaign).by_outcome == {"opted_out": 1, "sent": 1}
    [contact] = recent_contacts(app, ADMIN, tenant.id, ids[0], timedelta(days=1))
    assert contact.outcome == "opted_out"
    assert _audit_count(app, "campaign.attempt.outcome_update") == 2


def test_a_stop_long_after_the_text_is_not_counted_against_it(
        served: tuple[Carecall, str], fake_twilio: FakeTwilio, clock: FixedClock) -> None:
    app, base = served
    tenant, _ = demo(app)
    campaign = _texted(app, tenant, 1)
    clock.advance(timedelta(days=8))
    phone, _, _ = demo_caller(0)
    fake_twilio.deliver(base + sms.PREFIX + "/inbound", {
        "MessageSid": "SM" + "3" * 32, "AccountSid": fake_twilio.account_sid,
        "From": phone, "To": PRACTICE, "Body": "STOP", "NumMedia": "0"})
    assert len(opt_outs(app, ADMIN, tenant.id, phone=phone)) == 1
    assert report(app, ADMIN, tenant.id, campaign).by_outcome == {"sent": 1}


# -- calls ---------------------------------------------------------------------------------


class _Phone:
    """The patient's side of a campaign call, driven as Twilio would: signed webhooks to
    the answer URL carecall gave, then to each ``<Gather>`` action."""

    def __init__(self, fake: FakeTwilio, base: str, sid: str, to: str) -> None:
        self.fake, self.base, self.sid, self.to = fake, base, sid, to
        self.last: Twiml | None = None

    def _post(self, path: str, **extra: str) -> Twiml:
        params = {"CallSid": self.sid, "AccountSid": self.fake.account_sid, "From": PRACTICE,
                  "To": self.to, "Direction": "outbound-api", "CallStatus": "in-progress",
                  **extra}
        code, text = self.fake.deliver(self.base + path, params)
        assert code == 200, text
        self.last = Twiml.parse(text)
        return self.last

    def answer(self, url: str) -> Twiml:
        parts = urlsplit(url)
        return self._post(parts.path + "?" + parts.query, AnsweredBy="human")

    def say(self, text: str) -> Twiml:
        assert self.last is not None
        return self._post(self.last.next_path, SpeechResult=text, Confidence="0.9")

    def press(self, digits: str) -> Twiml:
        assert self.last is not None
        return self._post(self.last.next_path, Digits=digits)

    def hang_up(self, status: str = "completed") -> int:
        code, _ = self.fake.deliver(self.base + "/twilio/voice/status", {
            "CallSid": self.sid, "AccountSid": self.fake.account_sid, "From": PRACTICE,
            "To": self.to, "CallStatus": status, "CallDuration": "40"})
        return code


def _calling(app: Carecall, fake: FakeTwilio, base: str,
             conversation: Callable[[_Phone], None]) -> tuple[Tenant, uuid.UUID]:
    """A voice campaign to the first demo patient, the worker running while the patient
    answers and talks; returns once the attempt is finished and the worker stopped."""
    tenant, ids = demo(app)
    campaign = voice_campaign(app, tenant, ids[:1])
    assert plan_campaign(app, ADMIN, tenant.id, campaign).allowed == 1
    run_campaign(app, ADMIN, tenant.id, campaign)
    stop = threading.Event()
    worker = threading.Thread(target=jobs.work, args=(app,), kwargs={"stop": stop})
    worker.start()
    try:
        _wait_for(lambda: len(call_requests(fake)) == 1 and len(_attempts(app, campaign)) == 1)
        create = fake.requests_to("POST", r"/Calls\.json$")[0]
        [(sid, _, _)] = _attempts(app, campaign)
        phone = _Phone(fake, base, sid, create.param("To") or "")
        phone.answer(create.param("Url") or "")
        conversation(phone)
        _wait_for(lambda: _attempts(app, campaign)[0][1] == str(AttemptStatus.FINISHED))
        # Twilio's final status comes after the conversation's outcome: it changes nothing.
        assert phone.hang_up() == 204
    finally:
        stop.set()
        worker.join(30)
    return tenant, campaign


def test_a_confirmed_appointment_on_a_campaign_call_is_its_outcome(
        served: tuple[Carecall, str], fake_twilio: FakeTwilio) -> None:
    app, base = served
    _, _, dob = demo_caller(0)

    def confirm(phone: _Phone) -> None:
        phone.say("yes, speaking")
        answer = phone.say(f"my date of birth is {dob}")
        assert "confirm" in answer.said, answer.said
        assert "is confirmed" in phone.press("1").said

    tenant, campaign = _calling(app, fake_twilio, base, confirm)
    [(sid, status, outcome)] = _attempts(app, campaign)
    assert (status, outcome) == ("finished", "confirmed")
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.by_outcome == {"confirmed": 1}
    assert result.by_target_state == {"done": 1}
    assert _target_outcomes(app, campaign) == ["confirmed"]
    [contact] = recent_contacts(app, ADMIN, tenant.id, _ids(app, tenant)[0],
                                timedelta(days=1))
    assert (contact.provider_sid, contact.outcome) == (sid, "confirmed")


def test_pressing_9_on_a_campaign_call_is_its_opt_out(
        served: tuple[Carecall, str], fake_twilio: FakeTwilio) -> None:
    app, base = served

    def opt_out(phone: _Phone) -> None:
        assert phone.press("9").hangs_up

    tenant, campaign = _calling(app, fake_twilio, base, opt_out)
    [(_, status, outcome)] = _attempts(app, campaign)
    assert (status, outcome) == ("finished", "opted_out")
    assert report(app, ADMIN, tenant.id, campaign).by_outcome == {"opted_out": 1}
    ledger = opt_outs(app, ADMIN, tenant.id, phone=demo_caller(0)[0])
    assert [str(o.channel) for o in ledger] == ["voice"]
    [contact] = recent_contacts(app, ADMIN, tenant.id, _ids(app, tenant)[0],
                                timedelta(days=1))
    assert contact.outcome == "opted_out"

