"""Voice legs and encrypted recordings: the tables and the repository.

``voice_legs`` is carecall's record of each Twilio call: tenant, direction, the turn number
the next ``<Gather>`` answer must carry (replay protection), and for an outbound call the
patient id, purpose and appointment id the campaign asked for. Ids and codes only.

``recordings`` holds each recording's audio as an encrypted stream (``crypto.stream``) under
the data key of its subject (the verified or called patient, else the recording itself), and
the redacted copy once word timings allow one. Audio lives in the database so a fleet of
workers shares it and backups carry it (encrypted) with everything else.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from carecall.channels.model import LegState, Recording, RecordingState, RedactionState, VoiceLeg
from carecall.store.db import Database
from carecall.store.schema import UtcDateTime, metadata

voice_legs = Table(
    "voice_legs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("call_sid", String(64), nullable=True, unique=True),
    Column("direction", String(10), nullable=False),
    Column("state", String(10), nullable=False),
    Column("turn", Integer, nullable=False),
    Column("patient_id", Uuid, nullable=True),
    Column("purpose", String(40), nullable=True),
    Column("appointment_id", Uuid, nullable=True),
    Column("final_status", String(20), nullable=True),
    Column("answered_by", String(24), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

recordings = Table(
    "recordings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("leg_id", Uuid, ForeignKey("voice_legs.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("recording_sid", String(64), nullable=False, unique=True),
    Column("subject_id", Uuid, nullable=False),
    Column("state", String(10), nullable=False),
    Column("redaction", String(10), nullable=False),
    Column("audio", LargeBinary, nullable=True),
    Column("redacted", LargeBinary, nullable=True),
    Column("duration_s", Integer, nullable=True),
    Column("size_bytes", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("stored_at", UtcDateTime, nullable=True),
    Column("deleted_remote_at", UtcDateTime, nullable=True),
)

_LEG_COLUMNS = [c for c in voice_legs.c if c.name != "updated_at"]
_RECORDING_COLUMNS = [c for c in recordings.c if c.name not in ("audio", "redacted", "attempts")]


def _leg(row: Any) -> VoiceLeg:
    return VoiceLeg(
        id=row.id, tenant_id=row.tenant_id, direction=row.direction, state=row.state,
        turn=row.turn, call_sid=row.call_sid, patient_id=row.patient_id, purpose=row.purpose,
        appointment_id=row.appointment_id, final_status=row.final_status,
        answered_by=row.answered_by, created_at=row.created_at)


def _recording(row: Any) -> Recording:
    return Recording(
        id=row.id, tenant_id=row.tenant_id, leg_id=row.leg_id, recording_sid=row.recording_sid,
        subject_id=row.subject_id, state=row.state, redaction=row.redaction,
        duration_s=row.duration_s, size_bytes=row.size_bytes, created_at=row.created_at,
        stored_at=row.stored_at, deleted_remote_at=row.deleted_remote_at)


# -- voice legs ------------------------------------------------------------------------------

def insert_leg(session: Session, leg: VoiceLeg, now: datetime) -> None:
    session.execute(insert(voice_legs).values(
        id=leg.id, tenant_id=leg.tenant_id, call_sid=leg.call_sid, direction=leg.direction,
        state=leg.state, turn=leg.turn, patient_id=leg.patient_id, purpose=leg.purpose,
        appointment_id=leg.appointment_id, created_at=now, updated_at=now))


def leg_by_sid(session: Session, call_sid: str) -> VoiceLeg | None:
    row = session.execute(
        select(*_LEG_COLUMNS).where(voice_legs.c.call_sid == call_sid)).first()
    return _leg(row) if row else None


def leg_by_id(session: Session, leg_id: uuid.UUID) -> VoiceLeg | None:
    row = session.execute(select(*_LEG_COLUMNS).where(voice_legs.c.id == leg_id)).first()
    return _leg(row) if row else None


def attach_sid(session: Session, leg_id: uuid.UUID, call_sid: str, now: datetime) -> bool:
    """Record the CallSid of a placed call once; False if the leg already has another."""
    result = session.execute(
        update(voice_legs)
        .where(voice_legs.c.id == leg_id,
               (voice_legs.c.call_sid.is_(None)) | (voice_legs.c.call_sid == call_sid))
        .values(call_sid=call_sid, updated_at=now))
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]


def activate(session: Session, leg_id: uuid.UUID, now: datetime,
             answered_by: str | None = None) -> bool:
    """Move a placed leg to active (its first webhook); False if it was not ``placed``."""
    result = session.execute(
        update(voice_legs)
        .where(voice_legs.c.id == leg_id, voice_legs.c.state == "placed")
        .values(state="active", turn=1, answered_by=answered_by, updated_at=now))
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]


def claim_turn(session: Session, call_sid: str, turn: int, now: datetime) -> VoiceLeg | None:
    """Advance an active leg from ``turn`` to ``turn + 1``; exactly one request wins it and
    gets the leg back (one statement: UPDATE ... RETURNING on both engines)."""
    row = session.execute(_CLAIM, _claim_params(call_sid, turn, now)).first()
    return _leg(row) if row else None


#: Built once (every turn runs it).
_CLAIM = (update(voice_legs)
          .where(voice_legs.c.call_sid == bindparam("c_sid"),
                 voice_legs.c.turn == bindparam("c_turn"), voice_legs.c.state == "active")
          .values(turn=bindparam("c_next"), updated_at=bindparam("c_now"))
          .returning(*_LEG_COLUMNS))


def _claim_params(call_sid: str, turn: int, now: datetime) -> dict[str, Any]:
    return {"c_sid": call_sid, "c_turn": turn, "c_next": turn + 1, "c_now": now}


def claim_turn_deferred(db: Database, call_sid: str, turn: int,
                        now: datetime) -> VoiceLeg | None:
    """``claim_turn`` in its own unit of work whose commit does not wait for the disk.

    The claim only matters together with the turn the engine commits next, durably, on the
    same database: SQLite in WAL mode (``synchronous=NORMAL`` for this commit alone) and
    PostgreSQL (``synchronous_commit=off`` for this transaction) both write the claim to the
    log before that later commit, which flushes it too. A crash in between loses the claim and
    the turn together, and Twilio's caller is gone with the process anyway. This saves one
    disk flush per turn (the dominant cost of a turn on a busy disk).
    """
    if db.dialect != "sqlite":
        with db.transaction() as session:
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            return claim_turn(session, call_sid, turn, now)
    # Queue with the process's other writers (``Database.transaction`` does the same) rather
    # than in SQLite's busy handler, whose sleeps would turn a short wait into a long tail.
    with db.writer, db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA synchronous=NORMAL")  # outside any transaction, as SQLite needs
        try:
            with conn.begin():
                row = conn.execute(_CLAIM, _claim_params(call_sid, turn, now)).first()
        finally:
            raw.execute("PRAGMA synchronous=FULL")
        return _leg(row) if row else None


def end_leg(session: Session, call_sid: str, status: str, now: datetime) -> bool:
    """Mark the leg ended with Twilio's final status; False if it had already ended."""
    result = session.execute(
        update(voice_legs)
        .where(voice_legs.c.call_sid == call_sid, voice_legs.c.state != "ended")
        .values(state="ended", final_status=status, updated_at=now))
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]


def set_state(session: Session, leg_id: uuid.UUID, state: LegState, now: datetime) -> None:
    session.execute(update(voice_legs).where(voice_legs.c.id == leg_id)
                    .values(state=state, updated_at=now))


# -- recordings ------------------------------------------------------------------------------

def insert_recording(session: Session, *, recording_id: uuid.UUID, tenant_id: uuid.UUID,
                     leg_id: uuid.UUID, recording_sid: str, subject_id: uuid.UUID,
                     duration_s: int | None, now: datetime) -> None:
    session.execute(insert(recordings).values(
        id=recording_id, tenant_id=tenant_id, leg_id=leg_id, recording_sid=recording_sid,
        subject_id=subject_id, state="pending", redaction="pending", duration_s=duration_s,
        attempts=0, created_at=now))


def recording_by_sid(session: Session, recording_sid: str) -> Recording | None:
    row = session.execute(select(*_RECORDING_COLUMNS)
                          .where(recordings.c.recording_sid == recording_sid)).first()
    return _recording(row) if row else None


def recording_by_id(session: Session, recording_id: uuid.UUID) -> Recording | None:
    row = session.execute(select(*_RECORDING_COLUMNS)
                          .where(recordings.c.id == recording_id)).first()
    return _recording(row) if row else None


def pending_recordings(session: Session, max_attempts: int) -> list[Recording]:
    """Recordings not yet stored, or stored but not yet deleted from Twilio."""
    rows = session.execute(
        select(*_RECORDING_COLUMNS)
        .where(recordings.c.attempts < max_attempts,
               (recordings.c.state == "pending") | recordings.c.deleted_remote_at.is_(None))
        .where(recordings.c.state != "failed")
        .order_by(recordings.c.created_at)).all()
    return [_recording(r) for r in rows]


def count_attempt(session: Session, recording_id: uuid.UUID) -> int:
    session.execute(update(recordings).where(recordings.c.id == recording_id)
                    .values(attempts=recordings.c.attempts + 1))
    value = session.execute(select(recordings.c.attempts)
                            .where(recordings.c.id == recording_id)).scalar_one()
    return int(value)


def store_audio(session: Session, recording_id: uuid.UUID, *, audio: bytes, size: int,
                redacted: bytes | None, now: datetime) -> None:
    redaction: RedactionState = "done" if redacted is not None else "pending"
    state: RecordingState = "stored"
    session.execute(update(recordings).where(recordings.c.id == recording_id).values(
        audio=audio, size_bytes=size, redacted=redacted, redaction=redaction, state=state,
        stored_at=now))


def store_redacted(session: Session, recording_id: uuid.UUID, redacted: bytes) -> None:
    session.execute(update(recordings).where(recordings.c.id == recording_id)
                    .values(redacted=redacted, redaction="done"))


def mark_failed(session: Session, recording_id: uuid.UUID) -> None:
    session.execute(update(recordings).where(recordings.c.id == recording_id)
                    .values(state="failed"))


def mark_deleted_remote(session: Session, recording_id: uuid.UUID, now: datetime) -> None:
    session.execute(update(recordings).where(recordings.c.id == recording_id)
                    .values(deleted_remote_at=now))


def audio_blob(session: Session, recording_id: uuid.UUID, *, redacted: bool) -> bytes | None:
    column = recordings.c.redacted if redacted else recordings.c.audio
    value = session.execute(select(column).where(recordings.c.id == recording_id)).scalar()
    return bytes(value) if value is not None else None
