"""A worker killed mid-campaign (SIGKILL, a real process) and started again: every attempt is
accounted for once, and no number is called twice, including the call whose worker died
after Twilio received the request but before the answer was recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.campaigns.worker_proc import ShiftedClock
from tests.campaigns.world import (
    ADMIN,
    call_requests,
    consenting,
    demo,
    phones,
    voice_campaign,
)
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import open_app
from carecall.campaigns.model import CampaignState
from carecall.campaigns.service import plan_campaign, report, run_campaign
from carecall.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
TARGETS = 6


class HangingTwilio(FakeTwilio):
    """Takes the ``hang_at``-th call request (the call exists on its list), then never
    answers it: the worker that asked is killed while it waits."""

    def __init__(self, hang_at: int) -> None:
        super().__init__()
        self.hang_at = hang_at
        self.hung = threading.Event()
        self.release = threading.Event()

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               form: dict[str, list[str]], auth: str | None) -> tuple[int, str, bytes]:
        answer = super().handle(method, path, query, form, auth)
        calls = method == "POST" and path.endswith("/Calls.json")
        if calls and len(call_requests(self)) == self.hang_at:
            self.hung.set()
            self.release.wait(60)
        return answer


def _offset() -> timedelta:
    """Shift back to the last 11:00 in New York, where the demo's numbers are."""
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo("America/New_York"))
    eleven = local.replace(hour=11, minute=0, second=0, microsecond=0)
    if eleven > local:
        eleven -= timedelta(days=1)
    return eleven.astimezone(UTC) - now


def _env(settings: Settings, offset: timedelta) -> dict[str, str]:
    values: dict[str, Any] = {
        "DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
        "TWILIO_API_BASE": settings.twilio_api_base,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "CAMPAIGN_POLL_INTERVAL": settings.campaign_poll_interval,
        "CAMPAIGN_NUMBER_INTERVAL": settings.campaign_number_interval,
        "CAMPAIGN_CONCURRENCY": 2, "JOBS_SCHEMA": settings.jobs_schema,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECALL_")}
    env.update({f"CARECALL_{k}": str(v) for k, v in values.items()})
    env["CARECALL_TEST_CLOCK_OFFSET"] = str(offset.total_seconds())
    env["PYTHONPATH"] = str(ROOT)
    return env


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "tests/campaigns/worker_proc.py")],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_worker_killed_after_twilio_took_the_call_places_nothing_twice(
        campaign_settings: Settings) -> None:
    offset = _offset()
    fake = HangingTwilio(hang_at=3).start()
    settings = campaign_settings.with_overrides(**fake.settings_overrides())
    app = open_app(settings, clock=ShiftedClock(offset))
    try:
        tenant, ids = demo(app)
        campaign = voice_campaign(app, tenant, consenting(ids)[:TARGETS])
        assert plan_campaign(app, ADMIN, tenant.id, campaign).allowed == TARGETS
        run_campaign(app, ADMIN, tenant.id, campaign)
        env = _env(settings, offset)
        with phones(fake):
            first = _worker(env)
            assert fake.hung.wait(120), first.communicate()[0].decode()[-2000:]
            first.send_signal(signal.SIGKILL)  # Twilio has the 3rd call; nobody heard back
            first.communicate(timeout=30)
            fake.release.set()
            second = _worker(env)
            output = second.communicate(timeout=240)[0].decode()
            assert second.returncode == 0, output[-2000:]
        # Calls Twilio created. A request the SIGKILL cut off mid-body reaches the stand-in
        # without its To and is refused (400, 21201) as Twilio refuses it: no call.
        dialled = [call.to for call in fake.calls.values()]
        assert len(dialled) == TARGETS
        assert len(set(dialled)) == TARGETS  # no number twice
        assert sorted(to for to in call_requests(fake) if to) == sorted(dialled)
        result = report(app, ADMIN, tenant.id, campaign)
        assert result.state is CampaignState.COMPLETED
        assert result.by_attempt_status == {"finished": TARGETS}
        assert result.by_outcome == {"answered": TARGETS}
        assert result.reconciled == 1
        assert result.calls_placed == TARGETS
    finally:
        fake.release.set()
        app.close()
        fake.stop()
