"""Call tables and their repository.

What is PHI is sealed under the call's own data key (subject = the call id), bound to tenant,
table, column and row: the session state (claims, caller number, guard facts) and, only when
the practice retains raw transcripts, the raw turn text. Turns are always stored redacted;
events carry ids and codes only. ``call_opt_outs`` records opt-outs said on a call (the
consent ledger, a later issue, reads it); its phone number is sealed under the opt-out's own
key and findable by the same keyed blind index patients' phones use.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carecall.calls.state import CallState
from carecall.core.errors import Conflict
from carecall.core.ids import new_id
from carecall.crypto.envelope import DataKey, FieldContext, blob_key_id
from carecall.crypto.keyring import Keyring
from carecall.store.schema import UtcDateTime, metadata

_BIGINT_PK = Integer().with_variant(BigInteger(), "postgresql")

call_sessions = Table(
    "call_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    # The channel's call id (Twilio CallSid, simulator id): not PHI.
    Column("channel_ref", String(64), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("brain", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("state", LargeBinary, nullable=False),
    # Optimistic lock: two workers serving the same call cannot both write a turn.
    Column("version", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    UniqueConstraint("channel_ref"),
    Index("ix_call_sessions_tenant_started", "tenant_id", "started_at"),
)

call_turns = Table(
    "call_turns",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("call_id", Uuid, ForeignKey("call_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("speaker", String(10), nullable=False),
    Column("redacted", Text, nullable=False),
    Column("raw", LargeBinary, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_call_turns_call_seq", "call_id", "seq"),
)

call_events = Table(
    "call_events",
    metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("call_id", Uuid, ForeignKey("call_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("fields", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_call_events_call_seq", "call_id", "seq"),
)

call_verification_failures = Table(
    "call_verification_failures",
    metadata,
    Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("patient_id", Uuid, nullable=False),
    Column("call_id", Uuid, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_call_verification_failures_record", "tenant_id", "patient_id", "at"),
)

call_opt_outs = Table(
    "call_opt_outs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("call_id", Uuid, nullable=False),
    Column("patient_id", Uuid, nullable=True),
    Column("phone_index", BigInteger, nullable=True),
    Column("phone", LargeBinary, nullable=True),
    Column("channel", String(10), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_call_opt_outs_phone", "tenant_id", "phone_index"),
)

call_profiles = Table(
    "call_profiles",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("profile", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

call_slots = Table(
    "call_slots",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("start_at", UtcDateTime, nullable=False),
    Column("taken_at", UtcDateTime, nullable=True),
    Index("ix_call_slots_tenant_start", "tenant_id", "start_at"),
)


# The statements a turn runs, built once: building a SQLAlchemy expression and its cache key
# costs about three times as much as executing it (per turn, the difference is milliseconds).
_LOAD = select(call_sessions).where(call_sessions.c.channel_ref == bindparam("ref"))
_LOAD_FOR_UPDATE = _LOAD.with_for_update()
_SAVE = (update(call_sessions)
         .where(call_sessions.c.id == bindparam("b_id"),
                call_sessions.c.version == bindparam("b_version"))
         .values(state=bindparam("b_state"), status=bindparam("b_status"),
                 outcome=bindparam("b_outcome"), version=bindparam("b_new_version"),
                 updated_at=bindparam("b_now"), ended_at=bindparam("b_ended")))
_ADD_TURN = insert(call_turns)
_ADD_EVENTS = insert(call_events)
_PROFILE = select(call_profiles.c.profile).where(call_profiles.c.tenant_id == bindparam("t"))


class CallRow:
    """A loaded session: its ids, version and decrypted state."""

    def __init__(self, call_id: uuid.UUID, tenant_id: uuid.UUID, version: int,
                 state: CallState, status: str, brain: str) -> None:
        self.id = call_id
        self.tenant_id = tenant_id
        self.version = version
        self.state = state
        self.status = status
        self.brain = brain


class CallStore:
    """The only code that reads or writes the call tables."""

    def __init__(self, session: Session, keyring: Keyring) -> None:
        self.session = session
        self.keyring = keyring
        self._sealing: dict[uuid.UUID, DataKey] = {}

    # -- sessions ------------------------------------------------------------------------

    def _seal(self, tenant_id: uuid.UUID, subject: uuid.UUID, table: str, column: str,
              row_id: uuid.UUID, data: bytes) -> bytes:
        # One store serves one unit of work (a turn): the subject's sealing key is looked
        # up once in it, however many values (state, raw turns) it seals.
        key = self._sealing.get(subject)
        if key is None:
            key = self._sealing[subject] = self.keyring.data_key_for(
                self.session, tenant_id, subject)
        return key.seal(data, FieldContext(tenant_id, table, column, row_id))

    def _open(self, tenant_id: uuid.UUID, table: str, column: str, row_id: uuid.UUID,
              blob: bytes, *, sealing_subject: uuid.UUID | None = None) -> bytes:
        key_id = blob_key_id(blob)
        key = None
        if sealing_subject is not None:
            # A turn opens the state and seals it again under the subject's current key:
            # look that key up once (two statements) and, when the state is already sealed
            # under it (always, outside a key rotation), open with it too instead of a third
            # statement by key id.
            key = self._sealing.get(sealing_subject)
            if key is None:
                key = self._sealing[sealing_subject] = self.keyring.data_key_for(
                    self.session, tenant_id, sealing_subject)
        if key is None or key.key_id != key_id:
            key = self.keyring.data_key_by_id(self.session, tenant_id, key_id)
        return key.open(blob, FieldContext(tenant_id, table, column, row_id))

    def insert_session(self, state: CallState, channel_ref: str, brain: str,
                       now: datetime) -> None:
        call_id = uuid.UUID(state.call_id)
        tenant_id = uuid.UUID(state.tenant_id)
        blob = self._seal(tenant_id, call_id, "call_sessions", "state", call_id,
                          state.to_bytes())
        try:
            with self.session.begin_nested():
                self.session.execute(insert(call_sessions).values(
                    id=call_id, tenant_id=tenant_id, channel_ref=channel_ref,
                    direction=state.direction, brain=brain, status=state.status,
                    outcome=state.outcome, state=blob, version=1, started_at=now,
                    updated_at=now, ended_at=now if state.outcome else None))
        except IntegrityError:
            raise Conflict("A call with that channel reference already exists.") from None

    def load(self, channel_ref: str, *, for_update: bool = False,
             for_write: bool = False) -> CallRow | None:
        """The session by channel reference; ``for_write``: the caller will ``save`` it in
        this unit of work (the sealing key is looked up while opening)."""
        query = _LOAD_FOR_UPDATE if for_update else _LOAD
        row = self.session.connection().execute(query, {"ref": channel_ref}).first()
        if row is None:
            return None
        r = row._mapping
        raw = self._open(r["tenant_id"], "call_sessions", "state", r["id"], r["state"],
                         sealing_subject=r["id"] if for_write else None)
        return CallRow(r["id"], r["tenant_id"], r["version"], CallState.from_bytes(raw),
                       r["status"], r["brain"])

    def save(self, row: CallRow, now: datetime) -> None:
        state = row.state
        blob = self._seal(row.tenant_id, row.id, "call_sessions", "state", row.id,
                          state.to_bytes())
        ended = state.status != "in_progress"
        # ``ended_at`` is None until the call ends (a session is saved only while in progress).
        result = self.session.connection().execute(_SAVE, {
            "b_id": row.id, "b_version": row.version, "b_state": blob,
            "b_status": state.status, "b_outcome": state.outcome,
            "b_new_version": row.version + 1, "b_now": now, "b_ended": now if ended else None})
        if not result.rowcount:
            raise Conflict("This call was updated by another worker; retry the turn.")
        row.version += 1

    # -- transcript and events ---------------------------------------------------------

    def next_seq(self, table: Table, call_id: uuid.UUID) -> int:
        current = self.session.execute(
            select(func.max(table.c.seq)).where(table.c.call_id == call_id)).scalar()
        return int(current or 0) + 1

    def reserve(self, state: CallState, kind: str, count: int, row: CallRow | None) -> int:
        """The first of ``count`` sequence numbers for the call's turns (``kind`` "turn") or
        events ("event"), counted in the state that is saved with them; a state sealed
        before the counters existed asks the table once."""
        attr = "turn_seq" if kind == "turn" else "event_seq"
        current = getattr(state, attr)
        if current is None:
            current = 0 if row is None else self.next_seq(
                call_turns if kind == "turn" else call_events, row.id) - 1
        setattr(state, attr, current + count)
        return int(current) + 1

    def add_turn(self, row: CallRow, seq: int, speaker: str, redacted: str, raw: str | None,
                 now: datetime) -> None:
        self.add_turns(row, seq, [(speaker, redacted, raw)], now)

    def add_turns(self, row: CallRow, seq: int, turns: list[tuple[str, str, str | None]],
                  now: datetime) -> None:
        """Transcript rows (speaker, redacted text, raw text or None) from ``seq`` on, in one
        statement (the caller's words and the agent's reply of a turn)."""
        rows = []
        for i, (speaker, redacted, raw) in enumerate(turns):
            turn_id = new_id()
            sealed = None
            if raw is not None:
                sealed = self._seal(row.tenant_id, row.id, "call_turns", "raw", turn_id,
                                    raw.encode("utf-8"))
            rows.append({"id": turn_id, "call_id": row.id, "seq": seq + i, "speaker": speaker,
                         "redacted": redacted, "raw": sealed, "at": now})
        if rows:
            self.session.connection().execute(_ADD_TURN, rows)

    def add_events(self, call_id: uuid.UUID, seq: int | None,
                   events: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
        """Append events from ``seq`` on (``None``: after the last one stored)."""
        if not events:
            return
        if seq is None:
            seq = self.next_seq(call_events, call_id)
        self.session.connection().execute(_ADD_EVENTS, [
            {"call_id": call_id, "seq": seq + i, "kind": kind,
             "fields": json.dumps(fields, sort_keys=True), "at": now}
            for i, (kind, fields) in enumerate(events)])

    def turns(self, call_id: uuid.UUID, tenant_id: uuid.UUID,
              *, raw: bool = False) -> list[tuple[str, str]]:
        rows = self.session.execute(
            select(call_turns).where(call_turns.c.call_id == call_id)
            .order_by(call_turns.c.seq)).all()
        out = []
        for r in rows:
            text = r.redacted
            if raw and r.raw is not None:
                text = self._open(tenant_id, "call_turns", "raw", r.id, r.raw).decode("utf-8")
            out.append((r.speaker, text))
        return out

    def events(self, call_id: uuid.UUID) -> list[tuple[str, dict[str, Any], datetime]]:
        rows = self.session.execute(
            select(call_events).where(call_events.c.call_id == call_id)
            .order_by(call_events.c.seq)).all()
        return [(r.kind, json.loads(r.fields), r.at) for r in rows]

    # -- verification failures ---------------------------------------------------------

    def add_failure(self, tenant_id: uuid.UUID, patient_id: uuid.UUID, call_id: uuid.UUID,
                    now: datetime) -> None:
        self.session.execute(insert(call_verification_failures).values(
            tenant_id=tenant_id, patient_id=patient_id, call_id=call_id, at=now))

    def failure_times(self, tenant_id: uuid.UUID, patient_id: uuid.UUID,
                      since: datetime) -> list[datetime]:
        return list(self.session.execute(
            select(call_verification_failures.c.at).where(
                call_verification_failures.c.tenant_id == tenant_id,
                call_verification_failures.c.patient_id == patient_id,
                call_verification_failures.c.at > since)).scalars())

    # -- opt-outs ----------------------------------------------------------------------

    def add_opt_out(self, tenant_id: uuid.UUID, call_id: uuid.UUID, patient_id: uuid.UUID | None,
                    phone: str | None, phone_index: int | None, channel: str,
                    now: datetime) -> uuid.UUID:
        row_id = new_id()
        sealed = None
        if phone is not None:
            sealed = self._seal(tenant_id, row_id, "call_opt_outs", "phone", row_id,
                                phone.encode("utf-8"))
        self.session.execute(insert(call_opt_outs).values(
            id=row_id, tenant_id=tenant_id, call_id=call_id, patient_id=patient_id,
            phone_index=phone_index, phone=sealed, channel=channel, at=now))
        return row_id

    def opt_outs(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(call_opt_outs).where(call_opt_outs.c.tenant_id == tenant_id)
            .order_by(call_opt_outs.c.at)).all()
        return [dict(r._mapping) for r in rows]

    # -- practice profile and open slots -----------------------------------------------

    def profile(self, tenant_id: uuid.UUID) -> dict[str, Any] | None:
        text = self.session.connection().execute(
            _PROFILE, {"t": tenant_id}).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    def set_profile(self, tenant_id: uuid.UUID, profile: dict[str, Any], now: datetime) -> None:
        text = json.dumps(profile, sort_keys=True)
        done = self.session.execute(
            update(call_profiles).where(call_profiles.c.tenant_id == tenant_id)
            .values(profile=text, updated_at=now))
        if not done.rowcount:  # type: ignore[attr-defined]
            self.session.execute(insert(call_profiles).values(
                tenant_id=tenant_id, profile=text, updated_at=now))

    def add_slots(self, tenant_id: uuid.UUID, starts: list[datetime]) -> None:
        if starts:
            self.session.execute(insert(call_slots), [
                {"id": new_id(), "tenant_id": tenant_id, "start_at": s} for s in starts])

    def open_slots(self, tenant_id: uuid.UUID, after: datetime, limit: int) -> list[datetime]:
        return list(self.session.execute(
            select(call_slots.c.start_at).where(
                call_slots.c.tenant_id == tenant_id, call_slots.c.taken_at.is_(None),
                call_slots.c.start_at > after)
            .order_by(call_slots.c.start_at).limit(limit)).scalars())

    def take_slot(self, tenant_id: uuid.UUID, start: datetime, now: datetime) -> bool:
        free = self.session.execute(
            select(call_slots.c.id).where(
                call_slots.c.tenant_id == tenant_id, call_slots.c.start_at == start,
                call_slots.c.taken_at.is_(None)).limit(1).with_for_update()).scalar()
        if free is None:
            return False
        self.session.execute(update(call_slots).where(call_slots.c.id == free)
                             .values(taken_at=now))
        return True


def reencrypt_call_subject(session: Session, tenant_id: uuid.UUID, subject_id: uuid.UUID,
                           old: DataKey, new: DataKey) -> int:
    """Re-seal what a call (or an opt-out) sealed under ``old`` with ``new`` during a tenant
    data rotation, so dropping the old key loses nothing; returns the values re-sealed."""
    moved = 0
    sealed = (
        (call_sessions, "state", call_sessions.c.id, call_sessions.c.id),
        (call_turns, "raw", call_turns.c.call_id, call_turns.c.id),
        (call_opt_outs, "phone", call_opt_outs.c.id, call_opt_outs.c.id),
    )
    for table, column, owner, row_key in sealed:
        rows = session.execute(
            select(row_key.label("row_id"), table.c[column].label("blob")).where(
                owner == subject_id, table.c[column].is_not(None))).all()
        for row in rows:
            if blob_key_id(row.blob) != old.key_id:
                continue
            ctx = FieldContext(tenant_id, table.name, column, row.row_id)
            session.execute(update(table).where(row_key == row.row_id).values(
                {column: new.seal(old.open(row.blob, ctx), ctx)}))
            moved += 1
    return moved
