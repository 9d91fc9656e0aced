"""Call recordings: fetched from Twilio with authentication, encrypted as a stream, redacted
when word timings allow, deleted from Twilio once stored, and every read audited.

The flow, driven by the recording status callback:

1. ``register`` (in the webhook, fast): a ``pending`` row keyed by the RecordingSid, so a
   retried callback changes nothing and a crash before the download loses nothing.
2. ``ingest`` (after the reply, or from ``sweep``): the media is streamed from Twilio straight
   into the stream encryptor (the plaintext never touches disk), stored under the data key of
   the call's patient (so shredding the patient shreds the recording) or, when nobody was
   identified, of the recording itself; then deleted from Twilio.
3. ``redact`` (when speech-to-text word timings exist): PHI words found by the detector in the
   transcript are silenced, and the copy is stored encrypted beside the original.

The media URL is rebuilt from the account and RecordingSid instead of taken from the
callback, so a callback can never make carecall send its credentials elsewhere.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from typing import Any, BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carecall.access.guard import authorize
from carecall.access.model import Principal
from carecall.access.rules import Action
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.channels import store
from carecall.channels.model import Recording
from carecall.channels.twilio_rest import TwilioUnavailable, open_media, rest_client
from carecall.core.errors import InvalidInput, NotFound
from carecall.core.ids import new_id
from carecall.crypto.envelope import FieldContext
from carecall.crypto.stream import decrypt_stream, encrypt_stream, stream_key_id
from carecall.phi.audio import WordTiming, phi_time_ranges, redact_audio
from carecall.phi.check import find_identifiers

#: A bound on one recording (about 4.6 hours of 8 kHz 16-bit stereo).
MAX_RECORDING_BYTES = 256 * 1024 * 1024
#: Attempts before a recording is marked failed and left for a person to look at.
MAX_ATTEMPTS = 5
ACTOR = "system:twilio-voice"


def _audit(session: Session, app: Carecall, action: str, rec: Recording | None, *,
           tenant_id: uuid.UUID | None = None, actor: str = ACTOR, severity: str = "info",
           **details: DetailValue) -> None:
    append(session, AuditEvent(
        actor=actor, action=action, resource_type="recording",
        resource_id=str(rec.id) if rec else None,
        tenant_id=rec.tenant_id if rec else tenant_id,
        severity="warning" if severity == "warning" else "info",
        details=dict(details)), app.clock)


def media_url(account_sid: str, recording_sid: str) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}.wav"


def register(app: Carecall, *, call_sid: str, recording_sid: str,
             duration_s: int | None, subject_id: uuid.UUID | None = None) -> Recording | None:
    """Record that Twilio holds a finished recording for this call (idempotent).

    ``None`` if the call is not one of ours. ``subject_id`` is the patient the recording is
    about (verified or called); without one the recording is its own subject.
    """
    if not recording_sid.startswith("RE") or not recording_sid.isalnum():
        raise InvalidInput("RecordingSid is not a Twilio recording id.")
    now = app.clock.now()
    try:
        with app.db.transaction() as session:
            leg = store.leg_by_sid(session, call_sid)
            if leg is None:
                return None
            existing = store.recording_by_sid(session, recording_sid)
            if existing is not None:
                return existing
            recording_id = new_id()
            subject = subject_id or leg.patient_id or recording_id
            store.insert_recording(
                session, recording_id=recording_id, tenant_id=leg.tenant_id, leg_id=leg.id,
                recording_sid=recording_sid, subject_id=subject, duration_s=duration_s, now=now)
            rec = store.recording_by_id(session, recording_id)
            _audit(session, app, "recording.received", rec)
            return rec
    except IntegrityError:  # the same callback twice at once: the other one registered it
        with app.db.transaction() as session:
            return store.recording_by_sid(session, recording_sid)


class _Bounded:
    """A read-only view of a response body that refuses to go past ``limit`` bytes."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw = raw
        self._left = limit
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read(size, decode_content=True)
        self.total += len(data)
        self._left -= len(data)
        if self._left < 0:
            raise InvalidInput("The recording is larger than carecall accepts; it was refused.")
        return data


def ingest(app: Carecall, recording_id: uuid.UUID,
           words: Sequence[WordTiming] | None = None, transcript: str | None = None) -> Recording:
    """Download, encrypt, store and delete from Twilio; idempotent, safe to retry."""
    settings = app.settings
    with app.db.transaction() as session:
        rec = store.recording_by_id(session, recording_id)
        if rec is None:
            raise NotFound("No recording with that id.")
        attempts = store.count_attempt(session, recording_id) if rec.state == "pending" else 0
    if rec.state == "pending":
        ctx = FieldContext(rec.tenant_id, "recordings", "audio", rec.id)
        sealed = io.BytesIO()
        try:
            with open_media(settings, media_url(settings.twilio_account_sid,
                                                rec.recording_sid)) as response:
                with app.db.transaction() as session:
                    key = app.keyring.data_key_for(session, rec.tenant_id, rec.subject_id)
                body = _Bounded(response.raw, MAX_RECORDING_BYTES)
                encrypt_stream(key, ctx, body, sealed)  # type: ignore[arg-type]
        except (TwilioUnavailable, InvalidInput) as exc:
            _give_up_if_exhausted(app, rec, attempts, reason=exc.code)
            raise
        redacted = _redacted_copy(app, rec, sealed.getvalue(), words, transcript)
        with app.db.transaction() as session:
            store.store_audio(session, rec.id, audio=sealed.getvalue(), size=body.total,
                              redacted=redacted, now=app.clock.now())
            _audit(session, app, "recording.stored", rec, bytes=body.total,
                   redacted=redacted is not None)
    if rec.deleted_remote_at is None:
        _delete_remote(app, rec)
    with app.db.transaction() as session:
        done = store.recording_by_id(session, recording_id)
    assert done is not None
    return done


def _give_up_if_exhausted(app: Carecall, rec: Recording, attempts: int, *,
                          reason: str) -> None:
    with app.db.transaction() as session:
        _audit(session, app, "recording.fetch_failed", rec, severity="warning", reason=reason,
               attempt=attempts)
        if attempts >= MAX_ATTEMPTS:
            store.mark_failed(session, rec.id)
            _audit(session, app, "recording.failed", rec, severity="warning", reason=reason)


def _delete_remote(app: Carecall, rec: Recording) -> None:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        rest_client(app.settings).recordings(rec.recording_sid).delete()
    except TwilioRestException as exc:
        if exc.status != 404:  # 404: already gone, which is what we wanted
            raise TwilioUnavailable(
                f"Twilio refused to delete a stored recording (HTTP {exc.status}); the sweep "
                "retries it.") from None
    except (TwilioException, OSError):
        raise TwilioUnavailable(
            "Twilio did not answer a recording deletion; the sweep retries it.") from None
    with app.db.transaction() as session:
        store.mark_deleted_remote(session, rec.id, app.clock.now())
        _audit(session, app, "recording.remote_deleted", rec)


def _open_audio(app: Carecall, session: Session, rec: Recording, sealed: bytes,
                column: str, dst: BinaryIO) -> None:
    key = app.keyring.data_key_by_id(session, rec.tenant_id, stream_key_id(sealed[:64]))
    decrypt_stream(key, FieldContext(rec.tenant_id, "recordings", column, rec.id),
                   io.BytesIO(sealed), dst)


def _redacted_copy(app: Carecall, rec: Recording, sealed: bytes,
                   words: Sequence[WordTiming] | None, transcript: str | None) -> bytes | None:
    if not words or transcript is None:
        return None
    spans = phi_time_ranges(transcript, words, find_identifiers(transcript))
    plain = io.BytesIO()
    clean = io.BytesIO()
    out = io.BytesIO()
    with app.db.transaction() as session:
        _open_audio(app, session, rec, sealed, "audio", plain)
        plain.seek(0)
        redact_audio(plain, clean, spans)
        clean.seek(0)
        key = app.keyring.data_key_for(session, rec.tenant_id, rec.subject_id)
        encrypt_stream(key, FieldContext(rec.tenant_id, "recordings", "redacted", rec.id),
                       clean, out)
    return out.getvalue()


def redact(app: Carecall, recording_id: uuid.UUID, transcript: str,
           words: Sequence[WordTiming]) -> Recording:
    """Produce (or replace) the redacted copy once word timings are known."""
    with app.db.transaction() as session:
        rec = store.recording_by_id(session, recording_id)
        sealed = store.audio_blob(session, recording_id, redacted=False) if rec else None
    if rec is None or sealed is None:
        raise NotFound("No stored recording with that id.")
    copy = _redacted_copy(app, rec, sealed, words, transcript)
    if copy is None:
        raise InvalidInput("Redaction needs the transcript and its word timings.")
    with app.db.transaction() as session:
        store.store_redacted(session, rec.id, copy)
        _audit(session, app, "recording.redacted", rec)
        done = store.recording_by_id(session, rec.id)
    assert done is not None
    return done


def read(app: Carecall, principal: Principal, recording_id: uuid.UUID, dst: BinaryIO, *,
         raw: bool = False, purpose: str = "quality_review") -> Recording:
    """Write the decrypted audio to ``dst``: the redacted copy, or with ``raw`` the original.

    Permission first (``recordings:read``; the original needs ``recordings:read_raw``), then
    the audit entry and the read in one unit of work. Another tenant's recording is "not
    found", as is one without a redacted copy yet when the redacted one is asked for.
    """
    with app.db.transaction() as session:
        rec = store.recording_by_id(session, recording_id)
    if rec is None:
        raise NotFound("No recording with that id.")
    authorize(app, principal, Action.RECORDINGS_READ, rec.tenant_id)
    if raw:
        authorize(app, principal, Action.RECORDINGS_READ_RAW, rec.tenant_id)
    with app.db.transaction() as session:
        sealed = store.audio_blob(session, rec.id, redacted=not raw)
        if sealed is None:
            raise NotFound("That recording has no stored audio of that kind yet.")
        _open_audio(app, session, rec, sealed, "audio" if raw else "redacted", dst)
        append(session, AuditEvent(
            actor=principal.actor, action="recording.read", resource_type="recording",
            resource_id=str(rec.id), tenant_id=rec.tenant_id, purpose=purpose,
            details={"raw": raw}), app.clock)
    return rec


def sweep(app: Carecall) -> tuple[int, int]:
    """Retry every recording not yet stored or not yet deleted from Twilio.

    Returns (done, still pending). Run after a crash or by a periodic job.
    """
    with app.db.transaction() as session:
        todo = store.pending_recordings(session, MAX_ATTEMPTS)
    done = 0
    for rec in todo:
        try:
            ingest(app, rec.id)
            done += 1
        except (TwilioUnavailable, InvalidInput):
            continue
    return done, len(todo) - done
