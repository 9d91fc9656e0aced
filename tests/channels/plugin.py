"""The ``fake_twilio`` fixture, registered for the whole suite from ``tests/conftest.py``.

Any test (channels, consent, campaigns) can ask for ``fake_twilio``: a started
``FakeTwilio`` on 127.0.0.1, stopped after the test. Build settings for it with
``settings.with_overrides(**fake_twilio.settings_overrides())``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.channels.fake_twilio import FakeTwilio

from carecall.channels.twilio_rest import close_clients


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake
    close_clients()  # the SDK's kept-alive connections to this server
