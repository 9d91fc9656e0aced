"""Channel test fixtures: a real carecall wired to the local Twilio stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.channels.fake_twilio import FakeTwilio

from carecall.app import Carecall, open_app
from carecall.core.clock import FixedClock
from carecall.core.config import Settings

PUBLIC = "https://voice.carecall.test"


@pytest.fixture
def voice_settings(settings: Settings, fake_twilio: FakeTwilio) -> Settings:
    return settings.with_overrides(public_base_url=PUBLIC, **fake_twilio.settings_overrides())


@pytest.fixture
def voice_app(voice_settings: Settings, clock: FixedClock) -> Iterator[Carecall]:
    app = open_app(voice_settings, clock=clock)
    yield app
    app.close()
