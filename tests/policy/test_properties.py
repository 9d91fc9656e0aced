"""Properties of the policy over generated contacts (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st
from tests.policy.factories import SMS, VOICE, request

from carecall.policy import Reason, decide
from carecall.policy.hours import within_hours, zones_for
from carecall.policy.limits import daily_free, effective_limits, weekly_free
from carecall.policy.model import (
    TIME_REASONS,
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    OptOut,
    PastContact,
    PolicyRequest,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
ZONED = [("+12125550123", "America/New_York"), ("+13125550123", "America/Chicago"),
         ("+13035550123", "America/Denver"), ("+16025550123", "America/Phoenix"),
         ("+15035550123", "America/Los_Angeles"), ("+19075551234", "America/Anchorage"),
         ("+18085550123", "Pacific/Honolulu"),
         ("+12083201234", None), ("+19075551234", None), ("+12125550123", None),
         ("+18005551234", None)]


@st.composite
def requests(draw: st.DrawFn, lawful: bool = False) -> PolicyRequest:
    """Random contacts; with ``lawful``, every fact but time is in order (consent long
    given, no opt-out, no DNC), so the time rules alone decide."""
    now = START + timedelta(seconds=draw(st.integers(0, 2 * 366 * 86400)))
    phone, tz = draw(st.sampled_from(ZONED))
    offsets = draw(st.lists(st.integers(-9 * 86400, 3600), max_size=6))
    history = tuple(PastContact(draw(st.sampled_from(list(Channel))), now + timedelta(seconds=s))
                    for s in offsets)
    message = draw(st.sampled_from([SMS, VOICE, replace(VOICE, automated=False)]))
    kind = ConsentKind.TEXT_MESSAGES if message.channel is Channel.SMS else (
        ConsentKind.AUTOMATED_CALLS)
    given = now + timedelta(seconds=draw(st.integers(-400 * 86400, 3 * 86400)))
    revoked = draw(st.none() | st.integers(-3 * 86400, 9 * 86400).map(
        lambda s: now + timedelta(seconds=s)))
    if lawful:
        given, revoked = now - timedelta(days=400), None
    form = draw(st.sampled_from([ConsentForm.WRITTEN] * 3 + [ConsentForm.VERBAL]))
    consents = (Consent(kind, ConsentForm.WRITTEN if lawful else form, given, revoked),)
    opt_outs = tuple(OptOut(now + timedelta(seconds=s), Channel.SMS)
                     for s in draw(st.lists(st.integers(-86400, 9 * 86400), max_size=1))
                     if not lawful)
    return request(
        now=now, history=history, message=message,
        tenant={"daily_limit": draw(st.sampled_from([None, 0, 1, 2])),
                "weekly_limit": draw(st.sampled_from([None, 0, 1, 2, 3, 7])),
                "baa_active": lawful or draw(st.sampled_from([True, True, False]))},
        contact={"phone": phone, "timezone": tz, "consents": consents, "opt_outs": opt_outs,
                 "on_internal_dnc": not lawful and draw(st.sampled_from([False, False, True]))},
    )


def _time_rules_pass(req: PolicyRequest, at: datetime) -> bool:
    zones = zones_for(req.contact.timezone, req.contact.phone)
    daily, weekly = effective_limits(req.tenant.daily_limit, req.tenant.weekly_limit)
    past = [h.at for h in req.history]
    if not within_hours(at, zones):
        return False
    if not req.message.automated:
        return True
    return daily_free(at, past, zones, daily) and weekly_free(at, past, weekly)


@settings(max_examples=400, deadline=None)
@given(requests())
def test_allow_iff_no_reasons_and_reasons_are_ordered(req: PolicyRequest) -> None:
    decision = decide(req)
    assert decision.allowed == (decision.reasons == ())
    order = list(Reason)
    positions = [order.index(r) for r in decision.reasons]  # type: ignore[arg-type]
    assert positions == sorted(set(positions))
    if decision.allowed:
        assert decision.retry_after is None


@settings(max_examples=400, deadline=None)
@given(requests() | requests(lawful=True))
def test_retry_after_is_the_earliest_time_the_contact_passes(req: PolicyRequest) -> None:
    decision = decide(req)
    retry = decision.retry_after
    event("retry_after given" if retry else "no retry_after")
    if retry is None:
        return
    assert not decision.allowed
    assert set(decision.reasons) <= TIME_REASONS
    assert retry > req.now
    assert retry.tzinfo is UTC
    assert _time_rules_pass(req, retry)
    assert decide(replace(req, now=retry)).allowed
    # nothing earlier passes: a scan every 7 minutes from now, and one second before
    step = max(timedelta(minutes=7), (retry - req.now) / 3000)
    earlier = req.now
    while earlier < retry:
        assert not _time_rules_pass(req, earlier), earlier
        earlier += step
    assert not _time_rules_pass(req, retry - timedelta(seconds=1))


@settings(max_examples=300, deadline=None)
@given(requests())
def test_only_time_reasons_with_a_reachable_window_give_a_retry(req: PolicyRequest) -> None:
    decision = decide(req)
    if decision.allowed or not set(decision.reasons) <= TIME_REASONS:
        assert decision.retry_after is None
        return
    daily, weekly = effective_limits(req.tenant.daily_limit, req.tenant.weekly_limit)
    zero_limit = req.message.automated and 0 in (daily, weekly)
    if zero_limit:
        assert decision.retry_after is None


@settings(max_examples=200, deadline=None)
@given(requests(), st.integers(1, 4 * 86400))
def test_later_now_keeps_the_reasons_time_cannot_clear(req: PolicyRequest, delay: int) -> None:
    """Moving ``now`` only changes time reasons and the dated facts (consent, opt-out)."""
    later = replace(req, now=req.now + timedelta(seconds=delay))
    stable = {r for r in decide(req).reasons if r not in TIME_REASONS} - {
        Reason.NO_WRITTEN_CONSENT, Reason.OPTED_OUT}
    assert stable <= set(decide(later).reasons)
