"""Campaign attempts as durable workflows, and the worker loop that feeds them.

An attempt's workflow runs under the job id ``<attempt id>.<generation>`` on the queue
``campaign_attempts``: at most ``campaign_concurrency`` in flight, and per number (its keyed
tag) at most one start every ``campaign_number_interval`` seconds. Its steps (``attempts``)
check the policy again and place the contact, then look at the outcome until it is final,
then record it. The database is the source of truth: ``run`` only queues attempt rows, and
the worker's sweep hands them to the engine (the same job id twice is one job), so nothing
queued is lost whichever process dies when.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from carecall.app import Carecall
from carecall.campaigns import attempts
from carecall.campaigns.model import AttemptStatus, CampaignState
from carecall.campaigns.store import (
    CampaignStore,
    attempts_to_hand_over,
    campaign_attempts,
    campaigns,
    mark_handed_over,
    open_work,
    running_campaigns,
)
from carecall.jobs import engine

QUEUE = "campaign_attempts"
#: How long to keep looking at a placed call before taking its status as final.
OUTCOME_WAIT = timedelta(minutes=15)


@engine.step("campaign.dial", retries=2)
def _dial(attempt_id: str, generation: int) -> str:
    return attempts.dial(engine.app(), uuid.UUID(attempt_id), generation)


@engine.step("campaign.give_up")
def _give_up(attempt_id: str) -> None:
    attempts.give_up(engine.app(), uuid.UUID(attempt_id))


@engine.step("campaign.poll", retries=3)
def _poll(attempt_id: str, last: bool) -> str:
    return attempts.poll(engine.app(), uuid.UUID(attempt_id), last)


@engine.step("campaign.finish")
def _finish(attempt_id: str, outcome: str) -> None:
    attempts.finish(engine.app(), uuid.UUID(attempt_id), outcome)


@engine.workflow("campaign.attempt")
def attempt_workflow(attempt_id: str, generation: int) -> str:
    """One attempt: dial (policy first), then wait for the outcome, then record it."""
    try:
        sid = _dial(attempt_id, generation)
    except Exception:
        _give_up(attempt_id)
        return "error"
    if not sid:
        return "stopped"
    interval = max(0.05, engine.app().settings.campaign_poll_interval)
    looks = max(1, int(OUTCOME_WAIT.total_seconds() / interval))
    outcome = ""
    for look in range(looks):
        outcome = _poll(attempt_id, look == looks - 1)
        if outcome:
            break
        engine.sleep(interval)
    _finish(attempt_id, outcome)
    return outcome


def queue_spec(app: Carecall) -> engine.QueueSpec:
    settings = app.settings
    return engine.QueueSpec(
        name=QUEUE,
        concurrency=max(1, settings.campaign_concurrency),
        key_interval=settings.campaign_number_interval or None,
        poll_interval=min(1.0, max(0.05, settings.campaign_poll_interval)),
    )


def sweep(app: Carecall, limit: int = 1000) -> int:
    """Hand queued attempts of running campaigns to the engine, and complete campaigns
    with nothing left to do; returns how many attempts were handed over."""
    now = app.clock.now()
    with app.db.transaction() as session:
        pending = attempts_to_hand_over(session, limit)
    for attempt_id, generation, tag, not_before in pending:
        delay = (not_before - now).total_seconds() if not_before else 0.0
        engine.enqueue(QUEUE, attempt_workflow, str(attempt_id), generation,
                       job_id=f"{attempt_id}.{generation}", key=tag or str(attempt_id),
                       delay_seconds=delay)
        with app.db.transaction() as session:
            mark_handed_over(session, attempt_id, generation)
    with app.db.transaction() as session:
        for tenant_id, campaign_id in running_campaigns(session):
            if open_work(session, campaign_id) == 0:
                store = CampaignStore(session, tenant_id)
                store.set_state(campaign_id, CampaignState.COMPLETED, finished_at=now)
    return len(pending)


def busy(app: Carecall, campaign: uuid.UUID | None = None, horizon: float = 60.0) -> bool:
    """Is anything in flight, or due within ``horizon`` seconds, in running campaigns?"""
    due = app.clock.now() + timedelta(seconds=horizon)
    live = (AttemptStatus.DIALING, AttemptStatus.PLACED)
    query = (
        select(func.count())
        .select_from(campaign_attempts.join(campaigns,
                                            campaigns.c.id == campaign_attempts.c.campaign_id))
        .where(campaigns.c.state == str(CampaignState.RUNNING))
        .where(
            campaign_attempts.c.status.in_([str(s) for s in live])
            | ((campaign_attempts.c.status == str(AttemptStatus.QUEUED))
               & (campaign_attempts.c.not_before <= due))
        )
    )
    if campaign is not None:
        query = query.where(campaigns.c.id == campaign)
    with app.db.transaction() as session:
        return int(session.execute(query).scalar_one()) > 0


def work(app: Carecall, *, stop: threading.Event | None = None, until_idle: bool = False,
         campaign: uuid.UUID | None = None, executor_id: str | None = None,
         on_tick: object = None) -> None:
    """Run a worker in this process until ``stop`` is set (or, with ``until_idle``, until
    nothing is in flight or due soon): resume interrupted attempts, hand over queued ones."""
    stop = stop or threading.Event()
    engine.launch(app, [queue_spec(app)], executor_id=executor_id)
    try:
        interval = max(0.05, app.settings.campaign_poll_interval)
        while not stop.is_set():
            sweep(app)
            if callable(on_tick):
                on_tick()
            if until_idle and not busy(app, campaign, horizon=interval * 2):
                sweep(app)
                break
            stop.wait(interval)
    finally:
        engine.shutdown()
