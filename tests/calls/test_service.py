"""The call service on both backends: sealed state, redacted turns, the guard, lockouts,
opt-outs, and calls that move between processes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from tests.patients.factories import SYSTEM, make_patient, make_tenant

from carecall.app import Carecall, open_app
from carecall.audit.store import audit_entries
from carecall.calls import service
from carecall.calls.brain import Reply, Tools, register
from carecall.calls.guard import FALLBACK
from carecall.calls.model import CallerInput, OutboundRequest
from carecall.calls.rule_brain import RuleBrain
from carecall.calls.state import CallState
from carecall.calls.store import CallStore, call_opt_outs
from carecall.core.clock import FixedClock
from carecall.core.config import Settings
from carecall.core.errors import NotFound
from carecall.core.ids import new_id
from carecall.patients.model import AppointmentInput
from carecall.patients.service import import_patients
from carecall.tenants.model import Tenant

CALLER = "+16175550142"
PRACTICE = "+16175550199"
SAY_ID = "Margaret O'Connell, March third nineteen eighty two"
# The clinic's own location ("Main clinic") is not a patient identifier and may remain in a
# redacted transcript; everything about the person must not.
PHI = ["Margaret", "O'Connell", "Connell", "1982-03-03", "6175550142", "617-555-0142",
       "Elm Street", "02139", "Dr. Chen", "45.00", "lisinopril", "INV-20931", "Kowalski"]


def _world(app: Carecall, **tenant: object) -> tuple[Tenant, list[object]]:
    made = make_tenant(app)
    if tenant:
        from carecall.tenants.store import TenantStore

        with app.db.transaction() as session:
            store = TenantStore(session)
            current = store.get(made.id)
            assert current is not None
            session.execute(text("UPDATE tenants SET retain_raw_transcripts = :v WHERE id = :i")
                            .bindparams(v=True, i=made.id))
            made = replace(current, **tenant)  # type: ignore[arg-type]
    other = replace(make_patient(first="James", last="Kowalski", phone="+16175550177"),
                    appointments=(AppointmentInput(start=datetime(2026, 12, 9, 14, tzinfo=UTC),
                                                   provider="Dr. Whitfield", location="East"),))
    ids = import_patients(app, SYSTEM, made.id, [make_patient(), other], source="test")
    return made, list(ids)


def _say(app: Carecall, ref: str, said: str) -> str:
    return service.take_turn(app, channel_ref=ref, caller_input=CallerInput.speech(said)).say


def test_call_tables_hold_no_plaintext_phi(carecall: Carecall) -> None:
    tenant, _ = _world(carecall)
    first = service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                               from_number=CALLER, to_number=PRACTICE, channel_ref="CA1")
    assert "automated AI assistant" in first.say
    _say(carecall, "CA1", "when is my appointment")
    answer = _say(carecall, "CA1", SAY_ID)
    assert "Dr. Chen" in answer
    _say(carecall, "CA1", "what's my balance")
    assert "$45.00" in _say(carecall, "CA1", "invoice INV 20931")
    with carecall.db.engine.connect() as conn:
        for table in ("call_sessions", "call_turns", "call_events", "call_opt_outs",
                      "call_verification_failures", "audit_entries"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                blob = " ".join(
                    v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
                for value in PHI:
                    assert value not in blob, (table, value)
        turns = conn.execute(text("SELECT redacted FROM call_turns")).scalars().all()
    assert any("[NAME]" in t or "[DATE]" in t for t in turns)


def test_raw_turns_only_when_the_practice_retains_them(carecall: Carecall) -> None:
    tenant, _ = _world(carecall, retain_raw_transcripts=True)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="CA2")
    _say(carecall, "CA2", "when is my appointment")
    _say(carecall, "CA2", SAY_ID)
    with carecall.db.transaction() as session:
        store = CallStore(session, carecall.keyring)
        row = store.load("CA2")
        assert row is not None
        raw = store.turns(row.id, tenant.id, raw=True)
        redacted = store.turns(row.id, tenant.id)
    assert ("caller", SAY_ID) in raw
    assert ("caller", SAY_ID) not in redacted


def test_state_survives_another_process(carecall: Carecall, settings: Settings,
                                        clock: FixedClock) -> None:
    tenant, _ = _world(carecall)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="CA3")
    _say(carecall, "CA3", "when is my appointment")
    other = open_app(settings, clock=clock)  # a new Database, keyring and caches
    try:
        assert "Dr. Chen" in _say(other, "CA3", SAY_ID)
    finally:
        other.close()
    assert "confirmed" in _say(carecall, "CA3", "confirm it please")


def test_end_call_is_idempotent_and_final(carecall: Carecall) -> None:
    tenant, _ = _world(carecall)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="CA4")
    again = service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                               from_number=CALLER, to_number=PRACTICE, channel_ref="CA4")
    assert again.say == "How can I help you today?"
    service.end_call(carecall, channel_ref="CA4", status="completed")
    service.end_call(carecall, channel_ref="CA4", status="completed")
    step = service.take_turn(carecall, channel_ref="CA4", caller_input=CallerInput.speech("hi"))
    assert step.outcome == "caller_hung_up"
    assert step.say == ""
    kinds = [e[0] for e in service.call_events(carecall, "CA4")]
    assert kinds.count("call_ended") == 1
    with pytest.raises(NotFound):
        service.take_turn(carecall, channel_ref="nope", caller_input=CallerInput("silence"))


def test_tenant_for_number(carecall: Carecall) -> None:
    tenant, _ = _world(carecall)
    found = service.tenant_for_number(carecall, "(617) 555-0199")
    assert found is not None
    assert found.id == tenant.id
    assert service.tenant_for_number(carecall, "+16175550000") is None
    assert service.tenant_for_number(carecall, "garbage") is None


def _fail_once(app: Carecall, ref: str) -> None:
    _say(app, ref, "Margaret O'Connell, January first 1990")


def _audit_actions(app: Carecall) -> list[tuple[str, str]]:
    with app.db.transaction() as session:
        rows = session.execute(select(audit_entries.c.action, audit_entries.c.severity)).all()
    return [(r.action, r.severity) for r in rows]


def test_five_failures_lock_the_record_across_calls(carecall: Carecall,
                                                     clock: FixedClock) -> None:
    tenant, _ = _world(carecall)
    for call, tries in (("L1", 3), ("L2", 2)):
        service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                           from_number=CALLER, to_number=PRACTICE, channel_ref=call)
        _say(carecall, call, "when is my appointment")
        for _ in range(tries):
            _fail_once(carecall, call)
    assert ("call.record_locked", "high") in _audit_actions(carecall)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="L3")
    _say(carecall, "L3", "when is my appointment")
    locked = service.take_turn(carecall, channel_ref="L3",
                               caller_input=CallerInput.speech(SAY_ID))
    assert "Dr. Chen" not in locked.say
    assert [e.kind for e in locked.events] == ["locked_out"]
    clock.advance(timedelta(hours=24, minutes=1))
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="L4")
    _say(carecall, "L4", "when is my appointment")
    assert "Dr. Chen" in _say(carecall, "L4", SAY_ID)


def test_opt_out_is_recorded_before_the_call_ends(carecall: Carecall) -> None:
    tenant, ids = _world(carecall)
    pid = ids[0]
    assert isinstance(pid, type(new_id()))
    service.start_call(carecall, tenant_id=tenant.id, direction="outbound",
                       from_number=PRACTICE, to_number=CALLER, channel_ref="O1",
                       outbound=OutboundRequest(pid, "appointment_reminder"))
    step = service.take_turn(carecall, channel_ref="O1", caller_input=CallerInput.dtmf("9"))
    assert step.outcome == "opted_out"
    with carecall.db.transaction() as session:
        rows = session.execute(select(call_opt_outs)).all()
        index = carecall.keyring.blind_index(session, tenant.id, "phone", CALLER,
                                             carecall.index_bits)[0]
    assert len(rows) == 1
    assert rows[0].channel == "dtmf"
    assert rows[0].patient_id == pid
    assert rows[0].phone_index == index
    assert b"6175550142" not in rows[0].phone


def test_a_turn_that_reads_phi_is_one_unit_of_work(carecall: Carecall) -> None:
    """Session load, the date-of-birth search, the record read and their audit entries, the
    new state, turns and events: one commit, and sequence numbers without gaps."""
    from sqlalchemy import event

    tenant, _ = _world(carecall)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="U1")
    _say(carecall, "U1", "when is my appointment")
    commits: list[int] = []

    def count(_conn: object) -> None:
        commits.append(1)

    event.listen(carecall.db.engine, "commit", count)
    try:
        answer = _say(carecall, "U1", SAY_ID)
    finally:
        event.remove(carecall.db.engine, "commit", count)
    assert "Dr. Chen" in answer
    assert len(commits) == 1
    _say(carecall, "U1", "thanks, that's all, goodbye")
    with carecall.db.engine.connect() as conn:
        turns = conn.execute(text("SELECT seq FROM call_turns ORDER BY seq")).scalars().all()
        events = conn.execute(text("SELECT seq FROM call_events ORDER BY seq")).scalars().all()
        actions = conn.execute(text("SELECT action FROM audit_entries")).scalars().all()
    assert turns == list(range(1, 8))  # opening, then three caller/agent pairs
    assert events == list(range(1, len(events) + 1))
    assert len(events) >= 3
    assert "patient.search" in actions
    assert "call.identity_verified" in actions


def _ledger_opt_outs(app: Carecall, tenant: Tenant, pid: object, phone: str) -> list[object]:
    """The opt-outs in force the outbound policy sees for this patient and number."""
    from carecall.consent.service import number_facts

    assert isinstance(pid, type(new_id()))
    with app.db.transaction() as session:
        return list(number_facts(session, app, tenant.id, pid, phone, app.clock.now()).opt_outs)


def test_keyed_opt_out_reaches_the_consent_ledger(carecall: Carecall) -> None:
    from carecall.consent.service import opt_outs
    from carecall.policy.model import Channel

    tenant, ids = _world(carecall)
    pid = ids[0]
    assert isinstance(pid, type(new_id()))
    assert _ledger_opt_outs(carecall, tenant, pid, CALLER) == []
    service.start_call(carecall, tenant_id=tenant.id, direction="outbound",
                       from_number=PRACTICE, to_number=CALLER, channel_ref="O2",
                       outbound=OutboundRequest(pid, "appointment_reminder"))
    step = service.take_turn(carecall, channel_ref="O2", caller_input=CallerInput.dtmf("9"))
    assert step.outcome == "opted_out"
    facts = _ledger_opt_outs(carecall, tenant, ids[0], CALLER)
    assert [o.channel for o in facts] == [Channel.VOICE]  # type: ignore[attr-defined]
    (entry,) = opt_outs(carecall, SYSTEM, tenant.id, phone=CALLER)
    assert (entry.source, entry.reason, entry.patient_id) == ("voice_agent", "VOICE_DTMF", ids[0])
    with carecall.db.transaction() as session:
        actions = session.execute(select(audit_entries.c.action)).scalars().all()
    assert "consent.opt_out" in actions
    assert "call.opt_out" in actions


def test_spoken_opt_out_by_an_unverified_caller_stops_calls_to_that_number(
    carecall: Carecall,
) -> None:
    from carecall.consent.service import opt_outs

    tenant, ids = _world(carecall)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="O3")
    step = service.take_turn(carecall, channel_ref="O3",
                             caller_input=CallerInput.speech("please stop calling me"))
    assert step.outcome == "opted_out"
    # Nobody verified: the ledger holds the number (caller ID), which is what the policy
    # matches before dialling any patient at it.
    assert len(_ledger_opt_outs(carecall, tenant, ids[0], CALLER)) == 1
    assert _ledger_opt_outs(carecall, tenant, ids[1], "+16175550177") == []
    (entry,) = opt_outs(carecall, SYSTEM, tenant.id, phone=CALLER)
    assert (entry.reason, entry.patient_id) == ("VOICE_SPOKEN", None)
    # A second call saying the same records nothing new in the ledger.
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="O4")
    _say(carecall, "O4", "stop calling me")
    assert len(opt_outs(carecall, SYSTEM, tenant.id, phone=CALLER)) == 1


class LeakyBrain(RuleBrain):
    """A brain with a bug: after verifying one caller it reads out another patient's
    appointment. The guard must stop it."""

    name = "leaky"

    def respond(self, state: CallState, caller_input: CallerInput, tools: Tools) -> Reply:
        reply = super().respond(state, caller_input, tools)
        others = [w for pid, w in state.watched.items() if pid != state.verified]
        if state.verified and others:
            reply.say(f"By the way, {others[0].names[0]} is booked on {others[0].values[-1]}.")
        return reply


def test_the_guard_blocks_another_patients_phi(carecall: Carecall, settings: Settings,
                                               clock: FixedClock) -> None:
    register("leaky", LeakyBrain)
    leaky = open_app(settings.with_overrides(extra={"call_brain": "leaky"}), clock=clock)
    try:
        tenant, _ = _world(leaky)
        # same date of birth: both records are candidates, one is verified
        service.start_call(leaky, tenant_id=tenant.id, direction="inbound",
                           from_number="+16175550100", to_number=PRACTICE, channel_ref="G1")
        _say(leaky, "G1", "when is my appointment")
        step = service.take_turn(leaky, channel_ref="G1", caller_input=CallerInput.speech(SAY_ID))
    finally:
        leaky.close()
    kinds = [e.kind for e in step.events]
    assert "identity_verified" in kinds
    assert "guard_blocked" in kinds
    assert "phi_disclosed" not in kinds
    assert step.say.startswith(FALLBACK)
    assert "Kowalski" not in step.say
    assert "Dr. Chen" not in step.say
    assert ("call.guard_blocked", "high") in _audit_actions(carecall)


def test_a_data_key_rotation_keeps_live_calls_readable(carecall: Carecall) -> None:
    from carecall.patients.service import rotate_tenant_data

    tenant, _ = _world(carecall, retain_raw_transcripts=True)
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="R1")
    _say(carecall, "R1", "when is my appointment")
    rotate_tenant_data(carecall, SYSTEM, tenant.id)
    carecall.keyring.clear_cache()
    assert "Dr. Chen" in _say(carecall, "R1", SAY_ID)
    with carecall.db.transaction() as session:
        store = CallStore(session, carecall.keyring)
        row = store.load("R1")
        assert row is not None
        assert ("caller", "when is my appointment") in store.turns(row.id, tenant.id, raw=True)


def test_simulated_calls_stay_in_their_tenant(carecall: Carecall) -> None:
    from carecall.access.model import Principal
    from carecall.core.errors import PermissionDenied

    tenant, _ = _world(carecall)
    other = make_tenant(carecall, "elsewhere", number="+16175550198")
    ref, opening = service.start_simulated_call(carecall, SYSTEM, tenant.id,
                                                from_number=CALLER)
    assert ref.startswith("sim-")
    assert "automated AI assistant" in opening.say
    step = service.simulated_turn(carecall, SYSTEM, tenant.id, ref,
                                  CallerInput.speech("what are your hours"))
    assert step.say
    with pytest.raises(NotFound):
        service.simulated_turn(carecall, SYSTEM, other.id, ref, CallerInput("silence"))
    service.start_call(carecall, tenant_id=tenant.id, direction="inbound",
                       from_number=CALLER, to_number=PRACTICE, channel_ref="CAreal")
    with pytest.raises(NotFound):  # a telephone call cannot be driven through the simulator
        service.simulated_turn(carecall, SYSTEM, tenant.id, "CAreal", CallerInput("silence"))
    agent = Principal(kind="user", id="u1", tenant_id=tenant.id, roles=frozenset({"agent"}))
    with pytest.raises(PermissionDenied):
        service.start_simulated_call(carecall, agent, tenant.id, from_number=CALLER)


def test_no_outbound_call_without_a_baa(carecall: Carecall) -> None:
    from carecall.core.errors import PolicyRefused
    from carecall.tenants.service import get_tenant, terminate_baa

    tenant, ids = _world(carecall)

    for baa in get_tenant(carecall, SYSTEM, tenant.id).baas:
        terminate_baa(carecall, SYSTEM, tenant.id, baa.id)
    pid = ids[0]
    assert isinstance(pid, type(new_id()))
    with pytest.raises(PolicyRefused):
        service.start_call(carecall, tenant_id=tenant.id, direction="outbound",
                           from_number=PRACTICE, to_number=CALLER, channel_ref="NB1",
                           outbound=OutboundRequest(pid, "appointment_reminder"))
