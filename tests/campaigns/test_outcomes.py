"""Outcomes from Twilio's status callbacks (through ``channels.voice``), retries after a busy
line, and the contact history the daily limit reads."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select
from tests.campaigns.world import ADMIN, call_requests, demo, voice_campaign
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import Carecall
from carecall.campaigns import attempts, jobs
from carecall.campaigns.service import plan_campaign, report, run_campaign
from carecall.campaigns.store import campaign_attempts
from carecall.channels import voice
from carecall.consent.service import recent_contacts


def test_busy_status_callback_is_the_outcome_and_queues_a_retry(
        app: Carecall, fake_twilio: FakeTwilio) -> None:
    attempts.subscribe()
    tenant, ids = demo(app)
    campaign = voice_campaign(app, tenant, ids[:2], attempts=2)
    plan_campaign(app, ADMIN, tenant.id, campaign)
    run_campaign(app, ADMIN, tenant.id, campaign)
    stop = threading.Event()

    def line_busy() -> None:  # Twilio reports each call busy through the status webhook
        seen: set[str] = set()
        while not stop.wait(0.05):
            with app.db.transaction() as session:
                placed = set(session.execute(
                    select(campaign_attempts.c.provider_sid).where(
                        campaign_attempts.c.provider_sid.is_not(None))).scalars())
            for sid in placed - seen:  # as Twilio would: after it answered the REST call
                seen.add(sid)
                voice.status(app, call_sid=sid, call_status="busy")

    thread = threading.Thread(target=line_busy, daemon=True)
    thread.start()
    try:
        jobs.work(app, until_idle=True)
    finally:
        stop.set()
        thread.join(5)
    assert len(call_requests(fake_twilio)) == 2
    result = report(app, ADMIN, tenant.id, campaign)
    assert result.by_outcome == {"busy": 2}
    # The retries wait for their time (a minute on; the daily limit will defer them again).
    assert result.by_attempt_status == {"finished": 2, "queued": 2}
    assert result.by_target_state == {"in_progress": 2}
    history = recent_contacts(app, ADMIN, tenant.id, ids[0], timedelta(days=1))
    assert [(c.outcome, c.provider_sid is not None) for c in history] == [("busy", True)]
