"""Plan and run a reminder campaign against the demo practice, Twilio played by a fake."""

from __future__ import annotations

from tests.campaigns.world import (
    ADMIN,
    add_written_consent,
    call_requests,
    demo,
    number_of,
    phones,
    voice_campaign,
)
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import Carecall
from carecall.campaigns import jobs
from carecall.campaigns.model import CampaignState
from carecall.campaigns.service import plan_campaign, report, run_campaign


def test_plan_decides_every_target_and_run_places_each_allowed_call_once(
        app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant, ids = demo(app)  # patients 4 and 9 have no written consent
    add_written_consent(app, tenant, ids[9], number_of(9))  # imported later: now they do
    campaign = voice_campaign(app, tenant, ids[:10])

    summary = plan_campaign(app, ADMIN, tenant.id, campaign)
    assert (summary.targets, summary.allowed, summary.denied) == (10, 9, 1)
    assert summary.by_reason == {"NO_WRITTEN_CONSENT": 1}

    assert run_campaign(app, ADMIN, tenant.id, campaign) == 9
    with phones(fake_twilio):
        jobs.work(app, until_idle=True)

    result = report(app, ADMIN, tenant.id, campaign)
    assert result.state is CampaignState.COMPLETED
    assert result.by_outcome == {"answered": 9}
    assert result.by_target_state == {"done": 9, "denied": 1}
    dialled = call_requests(fake_twilio)
    assert sorted(dialled) == sorted(number_of(i) for i in range(10) if i != 4)
