"""The REST client factory against the local Twilio stand-in: the SDK's real requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.channels.fake_twilio import FakeTwilio, make_wav

from carecall.channels.twilio_rest import (
    TwilioUnavailable,
    open_media,
    rest_client,
    rewrite_url,
)
from carecall.core.config import Settings
from carecall.core.errors import ConfigError


def _settings(fake: FakeTwilio) -> Settings:
    return Settings(**fake.settings_overrides())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json", "https://api.twilio.com",
         "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json"),
        ("https://api.twilio.com/2010-04-01/Calls.json?To=%2B1", "http://127.0.0.1:9",
         "http://127.0.0.1:9/2010-04-01/Calls.json?To=%2B1"),
        ("https://messaging.twilio.com/v1/Services", "http://127.0.0.1:9/prefix/",
         "http://127.0.0.1:9/prefix/v1/Services"),
        ("https://example.com/x", "http://127.0.0.1:9", "https://example.com/x"),
        ("https://twilio.com.evil.test/x", "http://127.0.0.1:9",
         "https://twilio.com.evil.test/x"),
    ],
)
def test_rewrite_url(url: str, base: str, expected: str) -> None:
    assert rewrite_url(url, base) == expected


def test_calls_create_list_update_through_the_sdk(fake_twilio: FakeTwilio) -> None:
    client = rest_client(_settings(fake_twilio))
    call = client.calls.create(
        to="+16175550100", from_="+16175550199", url="https://carecall.test/twilio/voice/x",
        status_callback="https://carecall.test/twilio/voice/status",
        status_callback_event=["initiated", "answered", "completed"],
        machine_detection="DetectMessageEnd")
    assert call.sid.startswith("CA")
    assert call.status == "queued"
    create = fake_twilio.requests_to("POST", r"/Calls\.json$")[0]
    assert create.authorized
    assert create.form["StatusCallbackEvent"] == ["initiated", "answered", "completed"]
    assert create.param("MachineDetection") == "DetectMessageEnd"
    fake_twilio.add_call("+16175550111", "+16175550199")
    today = datetime.now(UTC) - timedelta(minutes=1)
    found = client.calls.list(to="+16175550100", start_time_after=today)
    assert [c.sid for c in found] == [call.sid]
    assert client.calls.list(to="+16175550100", status="completed") == []
    client.calls(call.sid).update(status="completed")
    assert [c.sid for c in client.calls.list(status="completed")] == [call.sid]


def test_messages_create_and_list(fake_twilio: FakeTwilio) -> None:
    client = rest_client(_settings(fake_twilio))
    msg = client.messages.create(to="+16175550100", from_="+16175550199", body="Hi")
    assert msg.sid.startswith("SM")
    assert [m.sid for m in client.messages.list(to="+16175550100")] == [msg.sid]
    assert client.messages.list(to="+16175550101") == []


def test_wrong_token_is_refused_by_the_fake(fake_twilio: FakeTwilio) -> None:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    settings = _settings(fake_twilio).with_overrides(twilio_auth_token="wrong")
    with pytest.raises(TwilioException, match="401"):
        rest_client(settings).calls.list()
    with pytest.raises(TwilioRestException) as info:
        rest_client(settings).calls.create(to="+1", from_="+2", url="https://x.test/")
    assert info.value.status == 401
    assert not fake_twilio.requests[-1].authorized


def test_media_download_requires_auth_and_twilio_host(fake_twilio: FakeTwilio) -> None:
    wav = make_wav(0.1)
    rec = fake_twilio.add_recording(fake_twilio.add_call("+1", "+2").sid, wav)
    settings = _settings(fake_twilio)
    with open_media(settings, fake_twilio.recording_url(rec.sid)) as response:
        assert response.content == wav
    assert fake_twilio.requests[-1].authorized
    with pytest.raises(TwilioUnavailable), open_media(
            settings.with_overrides(twilio_auth_token="bad"), fake_twilio.recording_url(rec.sid)):
        pass
    with pytest.raises(TwilioUnavailable), open_media(settings, "https://evil.test/x.wav"):
        pass
    with pytest.raises(ConfigError):
        rest_client(Settings())
