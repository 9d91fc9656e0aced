"""One inbound call end to end against a real ``carecall serve`` process: signed webhooks
over loopback HTTP in, TwiML out, and the recording fetched from (and deleted at) the local
Twilio stand-in over real HTTP with Basic authentication."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.channels.fake_twilio import FakeTwilio
from tests.channels.voice_helpers import PRACTICE, Twiml, demo_caller

from carecall.channels.store import recordings
from carecall.store.db import Database

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, db_url: str, fake_twilio: FakeTwilio) -> Iterator[str]:
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CARECALL_DATA_DIR": str(tmp_path / "data"),
           "CARECALL_DATABASE_URL": db_url, "CARECALL_PUBLIC_BASE_URL": base,
           "CARECALL_TWILIO_API_BASE": fake_twilio.base_url,
           "CARECALL_TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
           "CARECALL_TWILIO_AUTH_TOKEN": fake_twilio.auth_token}
    subprocess.run([sys.executable, "-m", "carecall", "demo", "--no-serve"], env=env,
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen([sys.executable, "-m", "carecall", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    pytest.fail(proc.stderr.read().decode() if proc.stderr else "server died")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()


def test_one_inbound_call_over_http(served: str, fake_twilio: FakeTwilio, db_url: str) -> None:
    phone, name, dob = demo_caller(0)
    call = fake_twilio.add_call(PRACTICE, phone)
    params = {"CallSid": call.sid, "AccountSid": fake_twilio.account_sid, "From": phone,
              "To": PRACTICE, "Direction": "inbound", "ApiVersion": "2010-04-01"}

    def post(path: str, **extra: str) -> tuple[int, str]:
        url = path if path.startswith("http") else served + path
        return fake_twilio.deliver(url, {**params, **extra})

    status, text = post("/twilio/voice/inbound", CallStatus="ringing")
    assert status == 200, text
    page = Twiml.parse(text)
    assert "AI" in page.said
    for line in ("yes", "I'd like to check my appointment", f"my name is {name}",
                 f"my date of birth is {dob}"):
        assert page.gather is not None
        status, text = post(page.gather.attrib["action"], CallStatus="in-progress",
                            SpeechResult=line, Confidence="0.9")
        assert status == 200, text
        page = Twiml.parse(text)
    assert page.said  # the appointment answer after verification
    # forged: signed with the wrong token, the server refuses it
    refused, _ = fake_twilio.deliver(served + "/twilio/voice/inbound", params,
                                     token="not-the-token")
    assert refused == 403

    rec = fake_twilio.add_recording(call.sid)
    status, _ = post("/twilio/voice/recording", RecordingSid=rec.sid,
                     RecordingUrl=fake_twilio.recording_url(rec.sid),
                     RecordingStatus="completed", RecordingDuration="12")
    assert status == 204
    status, _ = post("/twilio/voice/status", CallStatus="completed", CallDuration="60")
    assert status == 204
    deadline = time.monotonic() + 10
    while not rec.deleted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rec.deleted
    media = fake_twilio.requests_to("GET", rf"/Recordings/{rec.sid}")
    assert media
    assert all(r.authorized for r in media)
    db = Database(db_url)
    try:
        with db.transaction() as session:
            blob = session.execute(select(recordings.c.audio)).scalar_one()
    finally:
        db.dispose()
    assert rec.audio[44:1044] not in blob
