"""X-Twilio-Signature: requests signed with the SDK's own validator logic pass; forged,
wrongly signed, tampered, unsigned and mis-addressed ones get 403 BAD_SIGNATURE and an
audit entry without PHI."""

from __future__ import annotations

import hashlib
import json
from base64 import b64encode
from urllib.parse import urlencode

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.channels.conftest import PUBLIC
from tests.channels.fake_twilio import FakeTwilio
from twilio.request_validator import RequestValidator

from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.channels.signature import Params, TwilioRequestDep, public_url, signature_valid
from carecall.core.config import Settings

PATH = "/twilio/test/hook"
PARAMS = {"CallSid": "CA0123456789abcdef0123456789abcdef", "From": "+16175550142",
          "To": "+16175550199", "SpeechResult": "my date of birth is March third",
          "CallStatus": "in-progress"}


def _client(app: Carecall) -> TestClient:
    api = create_api(app, publish_heads=False)
    router = APIRouter()

    @router.post(PATH)
    def hook(request: TwilioRequestDep) -> dict[str, str]:
        return {"to": request.get("To"), "url": request.url}

    api.include_router(router)
    return TestClient(api)


def _post(client: TestClient, body: str, signature: str | None, query: str = "",
          content_type: str = "application/x-www-form-urlencoded"):
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(PATH + (f"?{query}" if query else ""), content=body, headers=headers)


def _rejections(app: Carecall) -> list[dict[str, object]]:
    with app.db.transaction() as session:
        rows = session.execute(select(audit_entries.c.action, audit_entries.c.body)
                               .order_by(audit_entries.c.id)).all()
    return [json.loads(r.body) for r in rows if r.action == "twilio.webhook.rejected"]


@pytest.fixture
def client(voice_app: Carecall) -> TestClient:
    return _client(voice_app)


def test_signed_request_passes(client: TestClient, fake_twilio: FakeTwilio) -> None:
    url = PUBLIC + PATH + "?t=3"
    response = _post(client, urlencode(PARAMS), fake_twilio.sign(url, PARAMS), "t=3")
    assert response.status_code == 200, response.text
    assert response.json() == {"to": "+16175550199", "url": url}


@pytest.mark.parametrize("variant", ["https://voice.carecall.test:443", "https://voice.carecall.test"])
def test_with_and_without_port(voice_app: Carecall, fake_twilio: FakeTwilio, variant: str) -> None:
    for base in (PUBLIC, PUBLIC.replace(".test", ".test:443")):
        client = _client(voice_app)
        voice_app.settings = voice_app.settings.with_overrides(public_base_url=base)
        signed = fake_twilio.sign(variant + PATH, PARAMS)
        assert _post(client, urlencode(PARAMS), signed).status_code == 200


def test_behind_a_proxy_with_a_path_prefix(voice_app: Carecall, fake_twilio: FakeTwilio) -> None:
    voice_app.settings = voice_app.settings.with_overrides(
        public_base_url="https://gateway.example.org:8443/clinic-a")
    client = _client(voice_app)
    signed = fake_twilio.sign("https://gateway.example.org:8443/clinic-a" + PATH, PARAMS)
    assert _post(client, urlencode(PARAMS), signed).status_code == 200
    # the Host header the proxy passes on is not what Twilio signed
    local = fake_twilio.sign("http://testserver" + PATH, PARAMS)
    assert _post(client, urlencode(PARAMS), local).status_code == 403


def _expect_403(client: TestClient, app: Carecall, body: str, signature: str | None,
                reason: str, query: str = "") -> None:
    before = len(_rejections(app))
    response = _post(client, body, signature, query)
    assert response.status_code == 403
    assert response.json()["code"] == "BAD_SIGNATURE"
    entries = _rejections(app)
    assert len(entries) == before + 1
    text = json.dumps(entries[-1])
    assert reason in text
    for value in PARAMS.values():  # no phone number, no speech, no raw SID in the audit
        assert value not in text
    assert hashlib.sha256(PARAMS["CallSid"].encode()).hexdigest()[:16] in text


def test_missing_signature(client: TestClient, voice_app: Carecall) -> None:
    _expect_403(client, voice_app, urlencode(PARAMS), None, "missing")


def test_forged_signature(client: TestClient, voice_app: Carecall) -> None:
    _expect_403(client, voice_app, urlencode(PARAMS), b64encode(b"x" * 20).decode(), "mismatch")


def test_signed_with_the_wrong_token(client: TestClient, voice_app: Carecall) -> None:
    wrong = RequestValidator("not-the-token").compute_signature(PUBLIC + PATH, PARAMS)
    _expect_403(client, voice_app, urlencode(PARAMS), wrong, "mismatch")


@pytest.mark.parametrize("change", [
    {"SpeechResult": "my date of birth is March fourth"},   # altered value
    {"Digits": "9"},                                        # added parameter
    {"From": ""},                                           # emptied parameter
])
def test_tampered_parameters(client: TestClient, voice_app: Carecall, fake_twilio: FakeTwilio,
                             change: dict[str, str]) -> None:
    signed = fake_twilio.sign(PUBLIC + PATH, PARAMS)
    _expect_403(client, voice_app, urlencode({**PARAMS, **change}), signed, "mismatch")


def test_tampered_query_and_path(client: TestClient, voice_app: Carecall,
                                 fake_twilio: FakeTwilio) -> None:
    signed = fake_twilio.sign(PUBLIC + PATH + "?t=3", PARAMS)
    _expect_403(client, voice_app, urlencode(PARAMS), signed, "mismatch", query="t=4")
    other = fake_twilio.sign(PUBLIC + "/twilio/voice/inbound", PARAMS)
    _expect_403(client, voice_app, urlencode(PARAMS), other, "mismatch")


def test_json_body_needs_its_hash(client: TestClient, voice_app: Carecall,
                                  fake_twilio: FakeTwilio) -> None:
    body = json.dumps({"CallSid": PARAMS["CallSid"]})
    digest = hashlib.sha256(body.encode()).hexdigest()
    query = f"bodySHA256={digest}"
    signed = fake_twilio.sign(PUBLIC + PATH + "?" + query, {})
    ok = _post(client, body, signed, query, "application/json")
    assert ok.status_code == 200
    bad = _post(client, body + " ", signed, query, "application/json")
    assert bad.status_code == 403
    unsigned = _post(client, body, fake_twilio.sign(PUBLIC + PATH, {}), "",
                     "application/json")
    assert unsigned.status_code == 403


def test_repeated_parameters_are_signed_sorted(fake_twilio: FakeTwilio) -> None:
    params = Params.parse(b"b=2&a=1&a=0")
    url = PUBLIC + PATH
    expected = RequestValidator(fake_twilio.auth_token).compute_signature(url, params)
    assert signature_valid(fake_twilio.auth_token, url, params, expected)
    raw = url + "a0a1b2"
    import hmac
    from hashlib import sha1
    manual = b64encode(hmac.new(fake_twilio.auth_token.encode(), raw.encode(), sha1).digest())
    assert manual.decode() == expected
    assert not signature_valid("", url, params, expected)


def test_public_url_rebuild() -> None:
    settings = Settings(public_base_url="https://a.example/base/")
    assert public_url(settings, "/x", "t=1", "http://local/x?t=1") == "https://a.example/base/x?t=1"
    assert public_url(settings, "/x", "", "http://local/x") == "https://a.example/base/x"
    assert public_url(Settings(), "/x", "", "http://local/x") == "http://local/x"
