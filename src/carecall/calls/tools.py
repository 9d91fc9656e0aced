"""The brain's tools, backed by the patient service and the call store.

Every PHI read goes through ``carecall.patients.service`` (tenant, BAA, purpose, audit in the
same unit of work) as the ``call-agent`` system principal; the record of the verified caller
is the only one ``patient`` returns. Failures are counted per call and per record here, so no
brain can forget to.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.calls.brain import CallProfile, RecordsUnavailable
from carecall.calls.guard import facts_of
from carecall.calls.rules import (
    MAX_RECORD_FAILURES,
    RECORD_WINDOW,
    Identity,
    Verification,
    VerifyReason,
    recent_failures,
    record_locked,
    verify,
    verify_billing,
)
from carecall.calls.state import CallState
from carecall.calls.store import CallStore
from carecall.consent.model import OptOutSource
from carecall.consent.service import record_opt_out_in as ledger_opt_out
from carecall.core.decision import Decision
from carecall.core.errors import NotFound, PolicyRefused
from carecall.patients import service as patients
from carecall.patients.model import Patient
from carecall.patients.rules import normalise_phone
from carecall.policy.model import Channel
from carecall.tenants.model import Purpose, Tenant

AGENT = Principal.system("call-agent")


def identity_of(patient: Patient) -> Identity:
    address = patient.address
    return Identity(
        id=patient.id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        dob=patient.dob,
        phones=patient.phones,
        zip=address.zip if address else None,
        street=address.line1 if address else None,
        last_visit=patient.last_date_of_service,
        invoices=tuple(i.number for i in patient.invoices),
    )


class CallTools:
    """The brain's tools for one turn, all inside that turn's unit of work (``session``):
    every read, its audit entry, every change and the turn's own writes commit together."""

    def __init__(self, app: Carecall, tenant: Tenant, profile: CallProfile | None,
                 session: Session, store: CallStore | None = None) -> None:
        self.app = app
        self.tenant = tenant
        self._profile = profile
        self.session = session
        self.store = store or CallStore(session, app.keyring)
        #: Records read (and audited) during this turn; the verified caller's is reused
        #: instead of being read a second time.
        self._seen: dict[uuid.UUID, Patient] = {}

    @property
    def profile(self) -> CallProfile:
        """The practice's call profile, read on first use (most turns never need it)."""
        if self._profile is None:
            self._profile = profile_of(self.store.profile(self.tenant.id))
        return self._profile

    def now(self) -> datetime:
        return self.app.clock.now()

    def _store(self) -> CallStore:
        return self.store

    # -- reading through the patient service -------------------------------------------

    def _get(self, patient_id: uuid.UUID, purpose: Purpose) -> Patient:
        try:
            return patients.get_patient_in(self.session, self.app, AGENT, self.tenant,
                                           patient_id, purpose)
        except PolicyRefused:
            raise RecordsUnavailable from None

    def _find(self, purpose: Purpose, *, phone: str | None = None,
              dob: date | None = None) -> list[Patient]:
        try:
            return patients.find_patients_in(self.session, self.app, AGENT, self.tenant,
                                             purpose=purpose, phone=phone, dob=dob)
        except PolicyRefused:
            raise RecordsUnavailable from None

    def _by_dob(self, state: CallState, purpose: Purpose) -> list[Patient]:
        if state.claims.dob is None:
            return []
        return self._find(purpose, dob=state.claims.dob)

    def _by_caller_id(self, state: CallState, purpose: Purpose) -> list[Patient]:
        """Caller ID picks candidates (never proof): their records are where a failure
        counts and what the guard watches."""
        if normalise_phone(state.caller_number or "") is None:
            return []
        return self._find(purpose, phone=state.caller_number)
    def watch(self, state: CallState, patient: Patient) -> None:
        state.watched[str(patient.id)] = facts_of(patient, self.tenant.timezone)

    def patient(self, state: CallState, purpose: Purpose) -> Patient:
        """The verified caller's own record, and nobody else's."""
        if state.verified is None or state.locked or state.third_party:
            raise PermissionError("no verified caller on this call")
        pid = uuid.UUID(state.verified)
        return self._seen.get(pid) or self._get(pid, purpose)

    # -- verification ------------------------------------------------------------------

    def verify(self, state: CallState, purpose: Purpose) -> Verification:
        outbound = state.direction == "outbound"
        if outbound and state.outbound_patient:
            candidates = [self._get(uuid.UUID(state.outbound_patient), purpose)]
        else:
            candidates = self._by_dob(state, purpose)
        result = self._decide(state, candidates)
        if not outbound and not result.verified and (
            result.counts_as_failure or VerifyReason.AMBIGUOUS in result.decision.reasons
        ):
            # Only now look at caller ID: to break a tie, or to know whose record a failed
            # attempt was aimed at. It never adds an identifier.
            known = {p.id for p in candidates}
            candidates += [p for p in self._by_caller_id(state, purpose) if p.id not in known]
            result = self._decide(state, candidates)
        for person in candidates:
            self.watch(state, person)
            self._seen[person.id] = person
        if result.counts_as_failure:
            self._fail(state, result.against)
        return result

    def _decide(self, state: CallState, candidates: list[Patient]) -> Verification:
        outbound = state.direction == "outbound"
        return verify(
            state.claims,
            [identity_of(p) for p in candidates],
            caller_id=None if outbound else state.caller_number,
            dialled=state.caller_number if outbound else None,
            locked=self._locked_records([p.id for p in candidates]),
            call_failures=state.failures,
            third_party=state.third_party,
        )

    def verify_billing(self, state: CallState) -> Decision:
        patient = self.patient(state, Purpose.BILLING_ENQUIRY)
        decision = verify_billing(state.claims, identity_of(patient))
        if VerifyReason.BILLING_NO_MATCH in decision.reasons:
            self._fail(state, (patient.id,))
        return decision

    def _locked_records(self, patient_ids: list[uuid.UUID]) -> frozenset[uuid.UUID]:
        if not patient_ids:
            return frozenset()
        now = self.now()
        store = self._store()
        return frozenset(
            pid for pid in patient_ids
            if record_locked(store.failure_times(self.tenant.id, pid, now - RECORD_WINDOW), now))

    def _fail(self, state: CallState, against: tuple[uuid.UUID, ...]) -> None:
        """Count a failure on the call and against each record it partly matched; the fifth
        failure against one record within 24 hours locks it and raises a security event."""
        state.failures += 1
        now = self.now()
        store = self._store()
        for pid in against:
            store.add_failure(self.tenant.id, pid, uuid.UUID(state.call_id), now)
            times = store.failure_times(self.tenant.id, pid, now - RECORD_WINDOW)
            if recent_failures(times, now) == MAX_RECORD_FAILURES:
                # The security event commits with the turn that counted the failure.
                append(self.session, AuditEvent(
                    actor=AGENT.actor, action="call.record_locked", resource_type="patient",
                    resource_id=str(pid), tenant_id=self.tenant.id, outcome="failure",
                    severity="high", details={"call": state.call_id}), self.app.clock)

    # -- changes -----------------------------------------------------------------------

    def open_slots(self, limit: int) -> list[datetime]:
        return self._store().open_slots(self.tenant.id, self.now(), limit)

    def forget(self, patient_id: uuid.UUID) -> None:
        self._seen.pop(patient_id, None)

    def set_appointment(
        self,
        state: CallState,
        appointment_id: uuid.UUID,
        purpose: Purpose,
        *,
        status: str | None = None,
        start: datetime | None = None,
    ) -> None:
        patient = self.patient(state, purpose)
        if start is not None and not self._store().take_slot(self.tenant.id, start, self.now()):
            raise RecordsUnavailable
        try:
            patients.update_appointment_in(self.session, self.app, AGENT, self.tenant,
                                           patient.id, appointment_id, status=status,
                                           start=start, purpose=purpose)
        except PolicyRefused:
            raise RecordsUnavailable from None
        self.forget(patient.id)

    def opt_out(self, state: CallState, channel: str) -> None:
        record_opt_out_in(self.session, self.app, self.tenant, state, channel)


def profile_of(data: dict[str, Any] | None) -> CallProfile:
    if data is None:
        return CallProfile()
    return CallProfile(
        hours=data.get("hours"),
        directions=data.get("directions"),
        instructions=dict(data.get("instructions") or {}),
        followup_questions=tuple(data.get("followup_questions") or ()),
    )


def record_opt_out(app: Carecall, tenant: Tenant, state: CallState, channel: str) -> None:
    """Record the caller's opt-out before the call ends, in one unit of work: in the consent
    ledger (the source of truth the outbound policy reads, channel ``voice``, source
    ``voice_agent``), in ``call_opt_outs`` (which call heard it, by key or by voice) and in
    the audit log. The number is the one on the line: caller ID on an inbound call (spoofable,
    but an opt-out only ever stops contact, so trusting it is the safe direction), the
    number carecall dialled on an outbound one."""
    with app.db.transaction() as session:
        record_opt_out_in(session, app, tenant, state, channel)


def record_opt_out_in(session: Session, app: Carecall, tenant: Tenant, state: CallState,
                      channel: str) -> None:
    phone = normalise_phone(state.caller_number) if state.caller_number else None
    patient = state.verified or state.outbound_patient
    patient_id = uuid.UUID(patient) if patient else None
    index = None
    if phone is not None:
        index = app.keyring.blind_index(session, tenant.id, "phone", phone, app.index_bits)[0]
    row = CallStore(session, app.keyring).add_opt_out(
        tenant.id, uuid.UUID(state.call_id), patient_id, phone, index, channel,
        app.clock.now())
    if phone is not None or patient_id is not None:
        reason = "VOICE_DTMF" if channel == "dtmf" else "VOICE_SPOKEN"
        try:
            ledger_opt_out(session, app, AGENT, tenant, phone=phone, patient_id=patient_id,
                           channel=Channel.VOICE, source=OptOutSource.VOICE_AGENT,
                           reason=reason)
        except NotFound:
            if phone is None:
                raise
            # The record was shredded mid-call: the number still opted out.
            ledger_opt_out(session, app, AGENT, tenant, phone=phone, channel=Channel.VOICE,
                           source=OptOutSource.VOICE_AGENT, reason=reason)
    append(session, AuditEvent(
        actor=AGENT.actor, action="call.opt_out", resource_type="call_opt_out",
        resource_id=str(row), tenant_id=tenant.id,
        details={"call": state.call_id, "channel": channel},
    ), app.clock)
