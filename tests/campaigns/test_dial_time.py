"""The policy again at dial time: opt-outs and do-not-call entries that arrive after the plan,
while attempts wait in the queue, stop those attempts; pause, resume and cancel."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from tests.campaigns.world import ADMIN, call_requests, demo, phones, voice_campaign
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import Carecall
from carecall.campaigns import jobs
from carecall.campaigns.model import CampaignState
from carecall.campaigns.service import (
    cancel_campaign,
    pause_campaign,
    plan_campaign,
    report,
    resume_campaign,
    run_campaign,
)
from carecall.consent.model import OptOutSource
from carecall.consent.service import dnc_add, record_opt_out
from carecall.core.errors import Conflict
from carecall.policy import Channel as PolicyChannel
from carecall.tenants.model import Tenant

NUMBERS = ["+16175550142", "+16175550201", "+16175550202", "+16175550203"]


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _planned(app: Carecall, count: int = 4) -> tuple[Tenant, uuid.UUID]:
    tenant, ids = demo(app)
    campaign = voice_campaign(app, tenant, ids[:count])
    assert plan_campaign(app, ADMIN, tenant.id, campaign).allowed == count
    return tenant, campaign


def test_opt_out_while_attempts_are_queued_stops_everything_after_it(
        serial_app: Carecall, fake_twilio: FakeTwilio) -> None:
    app = serial_app  # one call at a time: the rest wait in the engine's queue
    tenant, campaign = _planned(app)
    run_campaign(app, ADMIN, tenant.id, campaign)
    worker = threading.Thread(target=jobs.work, args=(app,), kwargs={"until_idle": True})
    worker.start()
    try:
        # The first call is out and unanswered; the other three are queued in the engine.
        _wait_for(lambda: len(call_requests(fake_twilio)) == 1)
        first = call_requests(fake_twilio)[0]
        for number in NUMBERS:
            if number != first:
                record_opt_out(app, ADMIN, tenant.id,
                               channel=PolicyChannel.SMS, source=OptOutSource.SMS_KEYWORD,
                               phone=number, reason="OPT_OUT_KEYWORD")
        with phones(fake_twilio):
            worker.join(60)
    finally:
        with phones(fake_twilio):
            worker.join(60)
    assert call_requests(fake_twilio) == [first]
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.dial_reasons == {"OPTED_OUT": 3}
    assert result.by_attempt_status == {"finished": 1, "denied": 3}
    assert result.state is CampaignState.COMPLETED


def test_do_not_call_entry_after_the_plan_is_refused_at_dial_time(
        app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant, campaign = _planned(app)
    dnc_add(app, ADMIN, tenant.id, NUMBERS[2])
    run_campaign(app, ADMIN, tenant.id, campaign)
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)
    assert sorted(call_requests(fake_twilio)) == sorted(NUMBERS[:2] + NUMBERS[3:])
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.dial_reasons == {"DNC": 1}
    assert result.by_target_state == {"done": 3, "skipped": 1}


def test_pause_holds_the_queue_and_resume_sends_each_once(
        app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant, campaign = _planned(app)
    run_campaign(app, ADMIN, tenant.id, campaign)
    pause_campaign(app, ADMIN, tenant.id, campaign)
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)
    assert call_requests(fake_twilio) == []
    assert report(app, ADMIN, tenant.id, campaign).state is CampaignState.PAUSED
    with pytest.raises(Conflict):
        run_campaign(app, ADMIN, tenant.id, campaign)

    resume_campaign(app, ADMIN, tenant.id, campaign)
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)
    assert sorted(call_requests(fake_twilio)) == sorted(NUMBERS)
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.state is CampaignState.COMPLETED
    assert result.by_outcome == {"answered": 4}


def test_pause_while_jobs_are_in_the_engine_then_resume(
        serial_app: Carecall, fake_twilio: FakeTwilio) -> None:
    app = serial_app
    tenant, campaign = _planned(app)
    run_campaign(app, ADMIN, tenant.id, campaign)
    worker = threading.Thread(target=jobs.work, args=(app,), kwargs={"until_idle": True})
    worker.start()
    _wait_for(lambda: len(call_requests(fake_twilio)) == 1)
    pause_campaign(app, ADMIN, tenant.id, campaign)
    with phones(fake_twilio):
        worker.join(60)
    assert len(call_requests(fake_twilio)) == 1  # the call already ringing finished
    resume_campaign(app, ADMIN, tenant.id, campaign)
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)
    assert sorted(call_requests(fake_twilio)) == sorted(NUMBERS)
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.by_outcome == {"answered": 4}
    assert result.state is CampaignState.COMPLETED


def test_cancel_drops_the_queue(app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant, campaign = _planned(app)
    run_campaign(app, ADMIN, tenant.id, campaign)
    assert cancel_campaign(app, ADMIN, tenant.id, campaign) == 4
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)
    assert call_requests(fake_twilio) == []
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.state is CampaignState.CANCELLED
    assert result.by_attempt_status == {"cancelled": 4}
    with pytest.raises(Conflict):
        resume_campaign(app, ADMIN, tenant.id, campaign)
