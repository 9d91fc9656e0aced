"""Recordings: authenticated download from the Twilio stand-in, stream encryption at rest,
deletion from Twilio, redaction with word timings, audited reads."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.channels.fake_twilio import FakeTwilio, make_wav
from tests.patients.factories import make_tenant

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.channels import recordings, store
from carecall.channels.model import VoiceLeg
from carecall.channels.twilio_rest import TwilioUnavailable
from carecall.core.errors import NotFound, PermissionDenied
from carecall.core.ids import new_id
from carecall.phi.audio import WordTiming, read_header


def _leg(app: Carecall, tenant_id, call_sid: str):
    leg = VoiceLeg(id=new_id(), tenant_id=tenant_id, direction="inbound", state="active",
                   turn=1, call_sid=call_sid)
    with app.db.transaction() as session:
        store.insert_leg(session, leg, app.clock.now())
    return leg


def _reader(tenant_id, role: str) -> Principal:
    return Principal(kind="user", id=f"{role}-1", tenant_id=tenant_id, roles=frozenset({role}),
                     training_valid_until=datetime(2030, 1, 1, tzinfo=UTC))


def _actions(app: Carecall) -> list[str]:
    with app.db.transaction() as session:
        return list(session.execute(select(audit_entries.c.action)
                                    .order_by(audit_entries.c.id)).scalars())


def test_ingest_downloads_with_auth_encrypts_and_deletes(
        voice_app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant = make_tenant(voice_app)
    call = fake_twilio.add_call("+16175550199", "+16175550142")
    wav = make_wav(0.5)
    twilio_rec = fake_twilio.add_recording(call.sid, wav)
    _leg(voice_app, tenant.id, call.sid)
    rec = recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                              duration_s=1)
    assert rec is not None
    assert rec.state == "pending"
    # the same callback again changes nothing
    again = recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                                duration_s=1)
    assert again is not None
    assert again.id == rec.id

    done = recordings.ingest(voice_app, rec.id)
    assert done.state == "stored"
    assert done.size_bytes == len(wav)
    assert done.deleted_remote_at is not None
    assert done.redaction == "pending"
    media = fake_twilio.requests_to("GET", rf"/Recordings/{twilio_rec.sid}")
    assert media
    assert all(r.authorized for r in media)
    assert fake_twilio.requests_to("DELETE", rf"/Recordings/{twilio_rec.sid}\.json")
    assert fake_twilio.recordings[twilio_rec.sid].deleted

    # encrypted at rest: no WAV bytes anywhere in the row
    with voice_app.db.transaction() as session:
        blob = session.execute(select(store.recordings.c.audio)).scalar_one()
    assert b"RIFF" not in blob
    assert wav[44:1044] not in blob
    assert len(blob) > len(wav)

    supervisor = _reader(tenant.id, "supervisor")
    with pytest.raises(NotFound):  # no redacted copy yet
        recordings.read(voice_app, supervisor, rec.id, io.BytesIO())
    with pytest.raises(PermissionDenied):  # QA hears the redacted copy only
        recordings.read(voice_app, supervisor, rec.id, io.BytesIO(), raw=True)
    officer = _reader(tenant.id, "privacy_officer")
    out = io.BytesIO()
    recordings.read(voice_app, officer, rec.id, out, raw=True)
    assert out.getvalue() == wav
    actions = _actions(voice_app)
    assert actions.count("recording.read") == 1
    assert {"recording.received", "recording.stored", "recording.remote_deleted"} <= set(actions)

    # idempotent: a second ingest neither downloads nor deletes again
    before = len(fake_twilio.requests)
    recordings.ingest(voice_app, rec.id)
    assert len(fake_twilio.requests) == before


def test_redacted_copy_silences_phi_words(voice_app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant = make_tenant(voice_app)
    call = fake_twilio.add_call("+16175550199", "+16175550142")
    wav = make_wav(3.0)
    twilio_rec = fake_twilio.add_recording(call.sid, wav)
    _leg(voice_app, tenant.id, call.sid)
    rec = recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                              duration_s=3)
    assert rec is not None
    transcript = "my name is Margaret O'Connell thanks"
    words = [WordTiming("my", 0.0, 0.2), WordTiming("name", 0.2, 0.4), WordTiming("is", 0.4, 0.5),
             WordTiming("Margaret", 0.6, 1.0), WordTiming("O'Connell", 1.0, 1.5),
             WordTiming("thanks", 2.6, 2.9)]
    done = recordings.ingest(voice_app, rec.id, words=words, transcript=transcript)
    assert done.redaction == "done"
    out = io.BytesIO()
    recordings.read(voice_app, _reader(tenant.id, "supervisor"), rec.id, out)
    redacted = out.getvalue()
    assert len(redacted) == len(wav)
    header = read_header(io.BytesIO(redacted))
    start = len(header.raw)
    name_at = start + int(0.8 * 8000) * 2
    assert redacted[name_at:name_at + 200] == bytes(200)  # silenced
    assert wav[name_at:name_at + 200] != bytes(200)
    tail_at = start + int(2.3 * 8000) * 2  # outside the padded span: untouched
    assert redacted[tail_at:tail_at + 200] == wav[tail_at:tail_at + 200]


def test_other_tenant_reads_nothing(voice_app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant = make_tenant(voice_app)
    other = make_tenant(voice_app, "elsewhere", number="+16175550188")
    call = fake_twilio.add_call("+16175550199", "+16175550142")
    twilio_rec = fake_twilio.add_recording(call.sid)
    _leg(voice_app, tenant.id, call.sid)
    rec = recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                              duration_s=1)
    assert rec is not None
    recordings.ingest(voice_app, rec.id)
    with pytest.raises(NotFound):
        recordings.read(voice_app, _reader(other.id, "privacy_officer"), rec.id, io.BytesIO(),
                        raw=True)


def test_failed_download_is_retried_by_the_sweep(
        voice_app: Carecall, fake_twilio: FakeTwilio) -> None:
    tenant = make_tenant(voice_app)
    call = fake_twilio.add_call("+16175550199", "+16175550142")
    twilio_rec = fake_twilio.add_recording(call.sid)
    _leg(voice_app, tenant.id, call.sid)
    rec = recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                              duration_s=1)
    assert rec is not None
    fake_twilio.fail_next("GET", r"/Recordings/RE", 503)
    with pytest.raises(TwilioUnavailable):
        recordings.ingest(voice_app, rec.id)
    with voice_app.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(store.recordings)
                               .where(store.recordings.c.audio.is_not(None))).scalar() == 0
    fake_twilio.fail_next("DELETE", r"/Recordings/RE", 500)
    assert recordings.sweep(voice_app) == (0, 1)  # stored, but the deletion failed
    assert recordings.sweep(voice_app) == (1, 0)
    assert fake_twilio.recordings[twilio_rec.sid].deleted
    assert recordings.sweep(voice_app) == (0, 0)


def test_unknown_call_and_bad_sid(voice_app: Carecall) -> None:
    assert recordings.register(voice_app, call_sid="CAnope", recording_sid="RE1",
                               duration_s=1) is None
    with pytest.raises(Exception, match="RecordingSid"):
        recordings.register(voice_app, call_sid="CAnope", recording_sid="../x", duration_s=1)
    assert timedelta(0) == timedelta(0)


def test_cli_sweep(voice_app: Carecall, fake_twilio: FakeTwilio,
                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from carecall.cli.main import main
    from carecall.store import migrate

    settings = voice_app.settings
    for name, value in {"CARECALL_DATA_DIR": str(settings.data_dir),
                        "CARECALL_DATABASE_URL": settings.database_url,
                        **{f"CARECALL_{k.upper()}": v
                           for k, v in fake_twilio.settings_overrides().items()}}.items():
        monkeypatch.setenv(name, value)
    assert migrate.current_revision(voice_app.db.engine) == migrate.head_revision()
    tenant = make_tenant(voice_app)
    call = fake_twilio.add_call("+16175550199", "+16175550142")
    twilio_rec = fake_twilio.add_recording(call.sid)
    _leg(voice_app, tenant.id, call.sid)
    recordings.register(voice_app, call_sid=call.sid, recording_sid=twilio_rec.sid,
                        duration_s=1)
    assert main(["recordings", "sweep"]) == 0
    assert "1 recording(s) finished; 0 still pending" in capsys.readouterr().out
    assert fake_twilio.recordings[twilio_rec.sid].deleted


def test_exactly_one_concurrent_claim_wins_a_turn(voice_app: Carecall) -> None:
    from concurrent.futures import ThreadPoolExecutor

    tenant = make_tenant(voice_app)
    leg = _leg(voice_app, tenant.id, "CAconcurrent")
    now = voice_app.clock.now()
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(
            lambda _: store.claim_turn_deferred(voice_app.db, leg.call_sid, 1, now), range(8)))
    assert sum(1 for w in won if w is not None) == 1
    assert store.claim_turn_deferred(voice_app.db, leg.call_sid, 1, now) is None
    claimed = store.claim_turn_deferred(voice_app.db, leg.call_sid, 2, now)
    assert claimed is not None
    assert claimed.turn == 3
    # the connection goes back to the pool with the durable setting restored
    if voice_app.db.dialect == "sqlite":
        with voice_app.db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
