from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import Carecall, open_app
from carecall.core.clock import FixedClock
from carecall.core.config import Settings


@pytest.fixture
def campaign_settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return settings.with_overrides(
        **fake_twilio.settings_overrides(),
        public_base_url="https://carecall.example.test",
        campaign_poll_interval=0.1,
        campaign_number_interval=0.2,
        campaign_concurrency=4,
        jobs_schema=f"dbos_{uuid.uuid4().hex[:12]}",
    )


@pytest.fixture
def app(campaign_settings: Settings, clock: FixedClock) -> Iterator[Carecall]:
    made = open_app(campaign_settings, clock=clock)
    yield made
    made.close()


@pytest.fixture
def serial_app(campaign_settings: Settings, clock: FixedClock) -> Iterator[Carecall]:
    """One attempt in flight at a time, so the others wait in the engine's queue."""
    made = open_app(campaign_settings.with_overrides(campaign_concurrency=1), clock=clock)
    yield made
    made.close()
