"""The batch gathering of consent facts agrees with the ledger's own one-number answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.campaigns.world import ADMIN, demo

from carecall.app import Carecall
from carecall.campaigns import consent_facts
from carecall.campaigns.facts import SYSTEM
from carecall.consent.model import OptOutSource
from carecall.consent.service import dnc_add, record_contact, record_opt_out
from carecall.patients.service import contact_details
from carecall.policy import Channel
from carecall.tenants.model import Purpose


def test_batch_and_single_gathering_agree(app: Carecall) -> None:
    tenant, ids = demo(app)  # patient 4 has no written consent
    record_opt_out(app, ADMIN, tenant.id, channel=Channel.SMS,
                   source=OptOutSource.SMS_KEYWORD, phone="+16175550201",
                   reason="OPT_OUT_KEYWORD")
    record_opt_out(app, ADMIN, tenant.id, channel=Channel.VOICE,
                   source=OptOutSource.CONSOLE, patient_id=ids[3])
    dnc_add(app, ADMIN, tenant.id, "+16175550202")
    record_contact(app, ADMIN, tenant.id, patient_id=ids[0], channel=Channel.VOICE,
                   purpose="appointment_reminder", outcome="answered",
                   at=app.clock.now() - timedelta(hours=3))
    record_contact(app, ADMIN, tenant.id, patient_id=ids[0], channel=Channel.SMS,
                   purpose="appointment_reminder", outcome="error",
                   at=app.clock.now() - timedelta(hours=2))
    details = contact_details(app, SYSTEM, tenant.id, ids[:6], Purpose.APPOINTMENT_REMINDER)
    pairs = [(details[pid], details[pid].phones[0]) for pid in ids[:6]]
    now = app.clock.now()
    many = consent_facts.gather_many(app, tenant, pairs, now)
    assert len(many) == 6
    for d, phone in pairs:
        one_contact, one_history = consent_facts.gather(app, tenant, d, phone, now)
        contact, history = many[(d.patient_id, phone)]
        assert set(contact.opt_outs) == set(one_contact.opt_outs)
        assert contact.consents == one_contact.consents
        assert (contact.on_internal_dnc, contact.patient) == (one_contact.on_internal_dnc,
                                                              one_contact.patient)
        assert history == one_history
    assert len(many[(ids[0], "+16175550142")][0].consents) >= 2
    assert many[(ids[0], "+16175550142")][1][0].channel is Channel.VOICE  # the error is not
    assert len(many[(ids[0], "+16175550142")][1]) == 1                    # a contact
    assert many[(ids[1], "+16175550201")][0].opt_outs
    assert many[(ids[2], "+16175550202")][0].on_internal_dnc
    assert many[(ids[3], "+16175550203")][0].opt_outs
    assert not many[(ids[4], "+16175550204")][0].consents


def test_number_tag_is_the_keyed_blind_index(app: Carecall) -> None:
    from tests.campaigns.world import voice_campaign

    from carecall.campaigns.facts import TAG_BITS, Planner
    from carecall.campaigns.service import get_campaign
    from carecall.crypto.blind_index import blind_index

    tenant, ids = demo(app)
    campaign = get_campaign(app, ADMIN, tenant.id, voice_campaign(app, tenant, ids[:1]))
    planner = Planner(app, SYSTEM, tenant, campaign)
    with app.db.transaction() as session:
        key = app.keyring.index_keys(session, tenant.id, "campaign_number")[0]
    for phone in ("+16175550142", "+16175550201", "+442071838750"):
        assert planner.number_tag(phone) == format(blind_index(key, phone, TAG_BITS), "x")
    assert planner.number_tag("+16175550142") != planner.number_tag("+16175550201")


@pytest.mark.parametrize("read_ahead", [0, 1, 3])
def test_a_plan_read_ahead_in_small_batches_decides_as_one_batch(
        app: Carecall, monkeypatch: pytest.MonkeyPatch, read_ahead: int) -> None:
    """The plan's reader threads (batches k+1.. read while k is decided) change no
    decision."""
    from tests.campaigns.world import voice_campaign

    from carecall.campaigns import service
    from carecall.campaigns.facts import Planner, resolve_targets
    from carecall.campaigns.store import CampaignStore

    tenant, ids = demo(app)
    record_opt_out(app, ADMIN, tenant.id, channel=Channel.VOICE,
                   source=OptOutSource.CONSOLE, patient_id=ids[3])
    dnc_add(app, ADMIN, tenant.id, "+16175550202")
    record_contact(app, ADMIN, tenant.id, patient_id=ids[0], channel=Channel.VOICE,
                   purpose="appointment_reminder", outcome="answered",
                   at=app.clock.now() - timedelta(hours=3))
    campaign_id = voice_campaign(app, tenant, ids)
    campaign = service.get_campaign(app, ADMIN, tenant.id, campaign_id)
    now = app.clock.now()
    expected = Planner(app, SYSTEM, tenant, campaign).decide_batch(
        resolve_targets(app, SYSTEM, tenant, campaign.spec, now), now)
    monkeypatch.setattr(service, "BATCH", 7)
    monkeypatch.setattr(service, "READ_AHEAD", read_ahead)
    summary = service.plan_campaign(app, ADMIN, tenant.id, campaign_id)
    with app.db.transaction() as session:
        stored = CampaignStore(session, tenant.id).targets(campaign_id)
    assert summary.targets == len(ids) == len(stored)
    want = {r["patient_id"]: (r["state"], r["reasons"], r["number_tag"]) for r in expected}
    got = {t.patient_id: (str(t.state), ",".join(t.reasons), t.number_tag) for t in stored}
    assert got == want
    assert {"OPTED_OUT", "DNC", "DAILY_LIMIT", "NO_WRITTEN_CONSENT"} <= set(summary.by_reason)
