"""Twilio Voice webhooks end to end through the API and the real conversation engine, with
requests signed by the SDK's validator logic and the REST side played by the local fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.channels.conftest import PUBLIC
from tests.channels.fake_twilio import FakeTwilio
from tests.channels.voice_helpers import STAFF, SimCall, Twiml, demo_caller

from carecall.access.model import Principal
from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.channels import store, voice
from carecall.channels.twiml import STALE_TURN, UNKNOWN_NUMBER
from carecall.demo.seed import seed_demo
from carecall.tenants.model import Tenant

SYSTEM = Principal.system("tests")


@pytest.fixture
def demo(voice_app: Carecall) -> Tenant:
    tenant, _ = seed_demo(voice_app, SYSTEM)
    return tenant


@pytest.fixture
def client(voice_app: Carecall, demo: Tenant) -> TestClient:
    return TestClient(create_api(voice_app, publish_heads=False))


def _call(client: TestClient, fake: FakeTwilio, index: int = 0) -> SimCall:
    phone, _, _ = demo_caller(index)
    return SimCall(client, PUBLIC, fake.auth_token, phone)


def _actions(app: Carecall) -> list[str]:
    with app.db.transaction() as session:
        return list(session.execute(select(audit_entries.c.action)
                                    .order_by(audit_entries.c.id)).scalars())


def test_inbound_call_opens_with_disclosure_and_listens(
        client: TestClient, fake_twilio: FakeTwilio) -> None:
    call = _call(client, fake_twilio)
    first = call.start()
    assert "AI" in first.said
    assert "Riverside Family Practice" in first.said
    gather = first.gather
    assert gather is not None
    assert gather.attrib["input"] == "speech dtmf"
    assert gather.attrib["speechTimeout"] == "auto"
    assert gather.attrib["actionOnEmptyResult"] == "true"
    assert "speechModel" not in gather.attrib  # Twilio refuses "auto" with a set model
    assert gather.attrib["action"] == PUBLIC + "/twilio/voice/gather?t=1"
    assert gather.findall("Say")  # spoken inside the gather: the caller may barge in


def test_a_verified_conversation_and_its_turn_numbers(
        client: TestClient, fake_twilio: FakeTwilio, voice_app: Carecall) -> None:
    _, name, dob = demo_caller(0)
    call = _call(client, fake_twilio)
    call.start()
    call.say("no thanks")
    assert call.last is not None
    assert call.last.next_path.endswith("t=2")
    call.say("I want to check my appointment")
    call.say(f"my name is {name}")
    answer = call.say(f"my date of birth is {dob}")
    assert answer.next_path.endswith("t=5")
    assert call.status("completed") == 204
    with voice_app.db.transaction() as session:
        leg = store.leg_by_sid(session, call.sid)
    assert leg is not None
    assert leg.state == "ended"
    assert leg.final_status == "completed"


def test_replayed_gather_does_nothing(client: TestClient, fake_twilio: FakeTwilio,
                                      voice_app: Carecall) -> None:
    _, name, _ = demo_caller(0)
    call = _call(client, fake_twilio)
    call.start()
    call.say("no thanks")
    replay_path = "/twilio/voice/gather?t=2"
    call.say(f"my name is {name}")  # takes turn 2
    replayed = call.twiml(replay_path, call.params(CallStatus="in-progress",
                                                   SpeechResult="cancel my appointment"))
    assert replayed.said == STALE_TURN
    assert name.split()[0] not in replayed.raw
    assert "voice.turn_replayed" in _actions(voice_app)
    # the live turn is unaffected
    assert replayed.next_path.endswith("t=3")
    # a replay after the call ended hangs up and reaches nothing
    call.status("completed")
    after = call.twiml(replay_path, call.params(CallStatus="in-progress", SpeechResult="yes"))
    assert after.hangs_up
    assert after.said == ""
    # a replayed inbound webhook does not start a second conversation
    again = call.start()
    assert again.hangs_up


def test_silence_digits_and_handoff(client: TestClient, fake_twilio: FakeTwilio) -> None:
    call = _call(client, fake_twilio)
    call.start()
    call.press("2")  # not yes/no for consent: the agent asks again, still listening
    assert call.last is not None
    assert call.last.gather is not None
    call.silence()
    assert call.last.gather is not None
    handoff = call.say("I want to talk to a real person please")
    dial = handoff.all("Dial")
    assert dial, handoff.raw
    assert (dial[0].text or "").strip() == STAFF


def test_unknown_number_gets_a_polite_goodbye(client: TestClient,
                                              fake_twilio: FakeTwilio) -> None:
    call = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550142",
                   to_number="+12125550000")
    answer = call.start()
    assert answer.said == UNKNOWN_NUMBER
    assert answer.hangs_up


def test_bad_signature_on_a_voice_webhook(client: TestClient, fake_twilio: FakeTwilio,
                                          voice_app: Carecall) -> None:
    call = _call(client, fake_twilio)
    response = call.post("/twilio/voice/inbound", call.params(), token="wrong-token")
    assert response.status_code == 403
    assert response.json()["code"] == "BAD_SIGNATURE"
    with voice_app.db.transaction() as session:
        assert store.leg_by_sid(session, call.sid) is None


def test_recording_consent_start_callback_and_stop(
        client: TestClient, fake_twilio: FakeTwilio, voice_app: Carecall) -> None:
    call = _call(client, fake_twilio)
    fake_twilio.add_call("+16175550199", call.from_number, sid=call.sid)
    call.start()
    started = call.say("yes that's fine")
    recording = started.all("Recording")
    assert recording, started.raw
    assert recording[0].attrib["recordingStatusCallback"] == PUBLIC + "/twilio/voice/recording"
    assert started.gather is not None
    _, name, dob = demo_caller(0)
    call.say("I want to check my appointment")
    call.say(f"my name is {name}")
    call.say(f"my date of birth is {dob}")
    twilio_rec = fake_twilio.add_recording(call.sid)
    stopped = call.say("please stop recording")
    assert "stopped recording" in stopped.said
    update = fake_twilio.requests_to("POST", rf"/Calls/{call.sid}/Recordings/Twilio\.CURRENT")
    assert update
    assert update[0].param("Status") == "stopped"
    response = call.post("/twilio/voice/recording", call.params(
        RecordingSid=twilio_rec.sid, RecordingUrl=fake_twilio.recording_url(twilio_rec.sid),
        RecordingStatus="completed", RecordingDuration="7", RecordingChannels="1",
        RecordingSource="StartCallRecording"))
    assert response.status_code == 204
    # the background download ran after the reply (TestClient runs it before returning)
    assert fake_twilio.recordings[twilio_rec.sid].deleted
    with voice_app.db.transaction() as session:
        rec = store.recording_by_sid(session, twilio_rec.sid)
    assert rec is not None
    assert rec.state == "stored"
    # sealed under the verified patient's key: shredding the patient shreds the recording
    from carecall.patients.store import patients

    with voice_app.db.transaction() as session:
        ids = set(session.execute(select(patients.c.id)).scalars())
    assert rec.subject_id in ids


def test_outbound_call_is_placed_and_answered(
        client: TestClient, fake_twilio: FakeTwilio, voice_app: Carecall, demo: Tenant) -> None:
    from carecall.patients.store import patients

    with voice_app.db.transaction() as session:
        patient_id = session.execute(select(patients.c.id).limit(1)).scalar_one()
    sid = voice.place_call(voice_app, tenant=demo, to="+16175550142", patient_id=patient_id,
                           purpose="appointment_reminder")
    create = fake_twilio.requests_to("POST", r"/Calls\.json$")[-1]
    assert create.param("MachineDetection") == "DetectMessageEnd"
    assert create.param("StatusCallback") == PUBLIC + "/twilio/voice/status"
    assert create.param("From") == "+16175550199"
    answer_url = create.param("Url")
    assert answer_url is not None
    assert answer_url.startswith(PUBLIC + "/twilio/voice/answer?leg=")
    assert str(patient_id) not in answer_url
    call = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550199",
                   to_number="+16175550142", sid=sid)
    path = answer_url.removeprefix(PUBLIC)
    opening = call.twiml(path, call.params(Direction="outbound-api", CallStatus="in-progress",
                                           AnsweredBy="human"))
    assert "AI" in opening.said
    assert opening.gather is not None
    found = voice.find_calls(voice_app, to="+16175550142",
                             since=voice_app.clock.now() - timedelta(days=1))
    assert [c.sid for c in found] == [sid]


def test_outbound_voicemail_leaves_only_practice_and_number(
        client: TestClient, fake_twilio: FakeTwilio, voice_app: Carecall, demo: Tenant) -> None:
    from carecall.patients.store import patients

    with voice_app.db.transaction() as session:
        patient_id = session.execute(select(patients.c.id).limit(1)).scalar_one()
    ended: list[voice.CallEnded] = []
    voice.end_listeners.append(lambda _app, event: ended.append(event))
    try:
        sid = voice.place_call(voice_app, tenant=demo, to="+16175550142",
                               patient_id=patient_id, purpose="appointment_reminder")
        url = fake_twilio.requests_to("POST", r"/Calls\.json$")[-1].param("Url")
        assert url is not None
        call = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550199",
                       to_number="+16175550142", sid=sid)
        message = call.twiml(url.removeprefix(PUBLIC), call.params(
            Direction="outbound-api", CallStatus="in-progress", AnsweredBy="machine_end_beep"))
        assert message.hangs_up
        assert "Riverside Family Practice" in message.said
        first_name = demo_caller(0)[1].split()[0]
        assert first_name not in message.said
        assert call.status("completed") == 204
        assert call.status("completed") == 204  # a repeated callback ends nothing twice
    finally:
        voice.end_listeners.clear()
    assert [e.status for e in ended] == ["completed"]


def test_placing_fails_cleanly_when_twilio_refuses(
        fake_twilio: FakeTwilio, voice_app: Carecall, demo: Tenant) -> None:
    from carecall.channels.twilio_rest import TwilioUnavailable
    from carecall.core.ids import new_id

    fake_twilio.fail_next("POST", r"/Calls\.json$", 503)
    with pytest.raises(TwilioUnavailable):
        voice.place_call(voice_app, tenant=demo, to="+16175550142", patient_id=new_id(),
                         purpose="appointment_reminder")


def test_twiml_parse_helper() -> None:
    parsed = Twiml.parse("<Response><Say>hi</Say><Hangup/></Response>")
    assert parsed.said == "hi"
    assert parsed.hangs_up


def test_answer_webhook_edge_cases(client: TestClient, fake_twilio: FakeTwilio,
                                   voice_app: Carecall, demo: Tenant) -> None:
    from carecall.patients.store import patients

    with voice_app.db.transaction() as session:
        patient_id = session.execute(select(patients.c.id).limit(1)).scalar_one()
    # an answer URL naming no leg of ours hangs up without a word
    stranger = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550199",
                       to_number="+16175550142")
    nothing = stranger.twiml("/twilio/voice/answer?leg=not-a-uuid", stranger.params())
    assert nothing.hangs_up
    assert nothing.said == ""
    sid = voice.place_call(voice_app, tenant=demo, to="+16175550142", patient_id=patient_id,
                           purpose="appointment_reminder")
    url = fake_twilio.requests_to("POST", r"/Calls\.json$")[-1].param("Url")
    assert url is not None
    path = url.removeprefix(PUBLIC)
    # another CallSid presenting this leg's answer URL gets nothing
    other = stranger.twiml(path, stranger.params(AnsweredBy="human"))
    assert other.hangs_up
    call = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550199",
                   to_number="+16175550142", sid=sid)
    fax = call.twiml(path, call.params(Direction="outbound-api", AnsweredBy="fax"))
    assert fax.hangs_up
    assert fax.said == ""
    # the same answer replayed: the leg is already active, nothing starts twice
    replay = call.twiml(path, call.params(Direction="outbound-api", AnsweredBy="human"))
    assert replay.said in ("", STALE_TURN)


def test_status_for_unanswered_outbound_call(fake_twilio: FakeTwilio, voice_app: Carecall,
                                             demo: Tenant, client: TestClient) -> None:
    from carecall.core.ids import new_id

    ended: list[voice.CallEnded] = []
    voice.end_listeners.append(lambda _app, event: ended.append(event))
    try:
        sid = voice.place_call(voice_app, tenant=demo, to="+16175550142", patient_id=new_id(),
                               purpose="appointment_reminder")
        call = SimCall(client, PUBLIC, fake_twilio.auth_token, "+16175550199",
                       to_number="+16175550142", sid=sid)
        assert call.status("ringing") == 204
        assert ended == []
        assert call.status("no-answer") == 204
    finally:
        voice.end_listeners.clear()
    assert [(e.status, e.leg.purpose) for e in ended] == [("no-answer", "appointment_reminder")]
