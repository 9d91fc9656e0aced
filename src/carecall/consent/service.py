"""Consent use cases: consents, opt-outs and their review, the do-not-call list, contacts.

Each function takes the acting principal, checks tenant scope and permission, runs in one
unit of work and audits in it (ids and codes only, never a number or a message). Opt-outs
and do-not-call requests are honoured without a BAA check: a practice whose BAA lapsed must
still stop contacting people who asked it to (47 CFR 64.1200(a)(10), (d)).

For other services: ``record_opt_out`` (the call engine, the SMS webhook, console, API),
``record_contact`` and ``set_contact_outcome`` (channels, campaigns), ``policy_facts`` (one
contact's policy input) and, inside a caller's own transaction, ``number_facts`` and
``ConsentStore.lock_number``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Uuid, column, select, table
from sqlalchemy.orm import Session

from carecall.access.guard import authorize, ensure_tenant, for_patient
from carecall.access.model import Principal
from carecall.access.rules import Action
from carecall.app import Carecall
from carecall.audit.model import AuditEvent, DetailValue
from carecall.audit.store import append
from carecall.consent import rules
from carecall.consent.imports import ConsentRow, parse_numbers
from carecall.consent.model import (
    NOT_SENT_OUTCOMES,
    Consent,
    ConsentInput,
    ConsentSource,
    Contact,
    DncEntry,
    DncImportResult,
    Evidence,
    OptOut,
    OptOutResult,
    OptOutScope,
    OptOutSource,
    Review,
    ReviewStatus,
)
from carecall.consent.store import ConsentStore, numbers_subject
from carecall.core.errors import InvalidInput, NotFound
from carecall.patients.rules import normalise_phone
from carecall.patients.service import find_patients, get_patient
from carecall.policy import model as pm
from carecall.tenants.model import Purpose, Tenant
from carecall.tenants.rules import active_baa
from carecall.tenants.service import load_tenant, local_date, require_baa

#: The policy's history input: the weekly limit looks back 7 x 24 hours, and the current
#: local day always starts inside that window.
HISTORY_WINDOW = timedelta(days=7)
#: The patients table's id columns only (no PHI column is named), to check a patient exists
#: in the tenant without going through a PHI read.
_PATIENT_IDS = table("patients", column("id", Uuid), column("tenant_id", Uuid),
                     column("shredded_at"))
SMS_SOURCES = frozenset({OptOutSource.SMS_KEYWORD, OptOutSource.SMS_TEXT})


def _tenant(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
            action: Action) -> Tenant:
    authorize(app, principal, action, tenant_ref)
    with app.db.transaction() as session:
        tenant = load_tenant(session, tenant_ref)
    if tenant is None:
        raise NotFound("No tenant with that id.")
    ensure_tenant(principal, tenant.id, "tenant")
    return tenant


def _store(app: Carecall, session: Session, tenant: Tenant) -> ConsentStore:
    return ConsentStore(session, app.keyring, tenant.id, app.index_bits)


def _audit(app: Carecall, session: Session, principal: Principal, tenant: Tenant, action: str,
           resource_type: str, resource_id: uuid.UUID | None, **details: DetailValue) -> None:
    append(session, AuditEvent(
        actor=principal.actor, action=action, resource_type=resource_type,
        resource_id=str(resource_id) if resource_id else None, tenant_id=tenant.id,
        details=dict(details)), app.clock)


def _phone(raw: str) -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise InvalidInput("That is not a valid phone number; use E.164 (+1...).")
    return phone


def _require_patient(session: Session, tenant: Tenant, patient_id: uuid.UUID) -> None:
    """The patient exists in this tenant (ids only: no PHI is read)."""
    found = session.execute(
        select(_PATIENT_IDS.c.id).where(_PATIENT_IDS.c.id == patient_id,
                                        _PATIENT_IDS.c.tenant_id == tenant.id,
                                        _PATIENT_IDS.c.shredded_at.is_(None))).first()
    if found is None:
        raise NotFound("No patient with that id.")


# -- consents ------------------------------------------------------------------------------


def add_consent(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                data: ConsentInput) -> uuid.UUID:
    """Record a consent with its evidence (sealed under the patient's key)."""
    principal = for_patient(app, principal, data.patient_id)
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    require_baa(app, principal, tenant, None)
    data = _checked(data, app.clock.now())
    with app.db.transaction() as session:
        _require_patient(session, tenant, data.patient_id)
        consent_id = _store(app, session, tenant).add_consent(data, app.clock.now())
        _audit(app, session, principal, tenant, "consent.add", "consent", consent_id,
               patient=str(data.patient_id), kind=str(data.kind), form=str(data.form),
               source=str(data.source),
               evidence=str(data.evidence.kind) if data.evidence else "none")
    return consent_id


def _checked(data: ConsentInput, now: datetime) -> ConsentInput:
    problems = rules.consent_problems(data.kind, data.form, data.given_at,
                                      data.evidence.kind if data.evidence else None, now)
    if problems:
        raise InvalidInput("The consent is not valid: " + "; ".join(problems) + ".")
    if data.evidence and data.evidence.document and len(data.evidence.document) > 5_000_000:
        raise InvalidInput("The signed form is over 5 MB; scan it at a lower resolution.")
    return replace(data, phone=_phone(data.phone))


def revoke_consent(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                   consent_id: uuid.UUID, source: ConsentSource) -> None:
    """Revoke one consent now (any reasonable means; no BAA needed to stop)."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        found = store.consent(consent_id)
        if found is None:
            raise NotFound("No consent with that id.")
        changed = store.revoke_consent(consent_id, app.clock.now(), str(source))
        _audit(app, session, principal, tenant, "consent.revoke", "consent", consent_id,
               patient=str(found.patient_id), kind=str(found.kind), source=str(source),
               changed=changed)


def list_consents(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                  patient_id: uuid.UUID) -> list[Consent]:
    principal = for_patient(app, principal, patient_id)
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    with app.db.transaction() as session:
        _require_patient(session, tenant, patient_id)
        found = _store(app, session, tenant).consents_of(patient_id)
        _audit(app, session, principal, tenant, "consent.list", "patient", patient_id,
               count=len(found))
    return found


def consent_evidence(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                     consent_id: uuid.UUID) -> Evidence | None:
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        if store.consent(consent_id) is None:
            raise NotFound("No consent with that id.")
        evidence = store.evidence(consent_id)
        _audit(app, session, principal, tenant, "consent.evidence.read", "consent",
               consent_id)
    return evidence


def import_consents(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                    rows: Sequence[ConsentRow], source: ConsentSource = ConsentSource.IMPORT,
                    ) -> list[uuid.UUID]:
    """Write already-parsed consents in one unit of work: all of them or none. A row given
    by phone alone must match exactly one patient; a row by patient id alone uses the
    patient's only number."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    require_baa(app, principal, tenant, None)
    now = app.clock.now()
    inputs: list[ConsentInput] = []
    problems: list[str] = []
    for row in rows:
        found = _resolve_row(app, principal, tenant, row)
        if isinstance(found, str):
            problems.append(f"line {row.line}: {found}")
            continue
        patient_id, phone = found
        evidence = Evidence(row.evidence_kind, reference=row.evidence_ref) \
            if row.evidence_kind else None
        candidate = ConsentInput(patient_id, phone, row.kind, row.form, row.given_at, source,
                                 evidence)
        issues = rules.consent_problems(row.kind, row.form, row.given_at,
                                        row.evidence_kind, now)
        if issues:
            problems.append(f"line {row.line}: " + "; ".join(issues))
            continue
        inputs.append(candidate)
    if problems:
        raise InvalidInput(f"{len(problems)} problem(s), nothing imported: "
                           + " | ".join(problems[:20]))
    return add_consents(app, principal, tenant.id, inputs, source)


def add_consents(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                 inputs: Sequence[ConsentInput],
                 source: ConsentSource = ConsentSource.IMPORT) -> list[uuid.UUID]:
    """Record several consents in one unit of work: all of them, or none."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    require_baa(app, principal, tenant, None)
    now = app.clock.now()
    checked = [_checked(data, now) for data in inputs]
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        ids = []
        for data in checked:
            _require_patient(session, tenant, data.patient_id)
            ids.append(store.add_consent(data, now))
        _audit(app, session, principal, tenant, "consent.import", "consent", None,
               count=len(ids), source=str(source))
    return ids


def _resolve_row(app: Carecall, principal: Principal, tenant: Tenant,
                 row: ConsentRow) -> tuple[uuid.UUID, str] | str:
    if row.patient_id is not None:
        patient = get_patient(app, principal, tenant.id, row.patient_id,
                              Purpose.PATIENT_SUPPORT)
        if row.phone is None:
            if len(patient.phones) != 1:
                return "the patient has no single phone number; add a phone column"
            return patient.id, patient.phones[0]
        if row.phone not in patient.phones:
            return "the phone number is not on the patient's record"
        return patient.id, row.phone
    assert row.phone is not None
    matches = find_patients(app, principal, tenant.id, purpose=Purpose.PATIENT_SUPPORT,
                            phone=row.phone)
    if len(matches) != 1:
        return ("no patient has that phone number" if not matches else
                "several patients share that phone number; give a patient_id")
    return matches[0].id, row.phone


# -- opt-outs ------------------------------------------------------------------------------


def record_opt_out(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *,
                   channel: pm.Channel, source: OptOutSource, phone: str | None = None,
                   patient_id: uuid.UUID | None = None, reason: str = "REQUESTED",
                   scope: OptOutScope = OptOutScope.ALL, review_text: str | None = None,
                   needs_review: bool = False) -> OptOutResult:
    """Record a revocation, effective at once for everything not yet sent.

    Give the number, the patient, or both. A repeat while an opt-out on the same channel is
    already in force records nothing new and asks for no second confirmation. With
    ``needs_review`` (an unclear message) the opt-out takes effect and a review is queued,
    ``review_text`` (the message) sealed for the reviewer.
    """
    if patient_id is not None:  # an agent may, for the patient of a call it has taken
        principal = for_patient(app, principal, patient_id)
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    number = _phone(phone) if phone else None
    if number is None and patient_id is None:
        raise InvalidInput("An opt-out needs a phone number or a patient.")
    with app.db.transaction() as session:
        return record_opt_out_in(
            session, app, principal, tenant, channel=channel, source=source, phone=number,
            patient_id=patient_id, reason=reason, scope=scope, review_text=review_text,
            needs_review=needs_review)


def record_opt_out_in(session: Session, app: Carecall, principal: Principal, tenant: Tenant, *,
                      channel: pm.Channel, source: OptOutSource, phone: str | None = None,
                      patient_id: uuid.UUID | None = None, reason: str = "REQUESTED",
                      scope: OptOutScope = OptOutScope.ALL, review_text: str | None = None,
                      needs_review: bool = False) -> OptOutResult:
    """``record_opt_out`` inside the caller's unit of work (the call engine records a spoken
    or keyed opt-out in the turn that heard it), for a tenant the caller already loaded.
    Same checks and audit. Tenant scope is checked on the loaded tenant, so nothing here
    opens a second unit of work (a nested one would wait on SQLite's writer)."""
    ensure_tenant(principal, tenant.id, "tenant")
    authorize(app, principal, Action.CONSENT_WRITE)
    number = _phone(phone) if phone else None
    if number is None and patient_id is None:
        raise InvalidInput("An opt-out needs a phone number or a patient.")
    now = app.clock.now()
    store = _store(app, session, tenant)
    if number:
        store.lock_number(number)
    if patient_id is not None:
        _require_patient(session, tenant, patient_id)
    current = rules.in_force(store.opt_outs_for(number, patient_id), now)
    repeat = any(o.channel is channel for o in current)
    confirm = source in SMS_SOURCES and rules.needs_confirmation(bool(current))
    opt_out_id = review_id = None
    if not repeat:
        opt_out_id = store.add_opt_out(
            phone=number, patient_id=patient_id, channel=channel, scope=scope,
            source=source, reason=reason, at=now, confirmed=confirm, now=now)
        if needs_review:
            review_id = store.add_review(opt_out_id, reason, review_text,
                                         patient_id or numbers_subject(tenant.id), now)
    _audit(app, session, principal, tenant,
           "consent.opt_out" if not repeat else "consent.opt_out.repeat", "opt_out",
           opt_out_id, channel=str(channel), source=str(source), reason=reason,
           scope=str(scope), confirm=confirm, review=review_id is not None,
           patient=str(patient_id) if patient_id else "unknown")
    return OptOutResult(opt_out_id, not repeat, confirm, review_id)


def record_opt_in(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                  phone: str, source: OptOutSource = OptOutSource.SMS_KEYWORD) -> int:
    """START / UNSTOP: lift the opt-outs this number gave by text. Returns how many."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    number = _phone(phone)
    now = app.clock.now()
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        store.lock_number(number)
        lifted = [o for o in rules.in_force(store.opt_outs_for(number, None), now)
                  if rules.lifted_by_opt_in(o) and store.lift(o.id, now, str(source))]
        _audit(app, session, principal, tenant, "consent.opt_in", "opt_out", None,
               lifted=len(lifted), source=str(source))
    return len(lifted)


def lift_opt_out(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                 opt_out_id: uuid.UUID) -> None:
    """Staff lift an opt-out (the person asked again to be contacted, in writing)."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        if store.opt_out(opt_out_id) is None:
            raise NotFound("No opt-out with that id.")
        changed = store.lift(opt_out_id, app.clock.now(), "console")
        _audit(app, session, principal, tenant, "consent.opt_out.lift", "opt_out", opt_out_id,
               changed=changed)


def opt_outs(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *,
             phone: str | None = None, patient_id: uuid.UUID | None = None) -> list[OptOut]:
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    number = _phone(phone) if phone else None
    if number is None and patient_id is None:
        raise InvalidInput("Give a phone number or a patient.")
    with app.db.transaction() as session:
        found = _store(app, session, tenant).opt_outs_for(number, patient_id)
        _audit(app, session, principal, tenant, "consent.opt_out.list", "opt_out", None,
               count=len(found))
    return found


def list_reviews(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *,
                 status: ReviewStatus | None = ReviewStatus.PENDING,
                 with_text: bool = False) -> list[Review]:
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    with app.db.transaction() as session:
        found = _store(app, session, tenant).reviews(status, with_text)
        _audit(app, session, principal, tenant, "consent.review.list", "consent_review", None,
               count=len(found), with_text=with_text)
    return found


def resolve_review(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                   review_id: uuid.UUID, *, revocation: bool) -> None:
    """A human's reading of an unclear message: a revocation (the opt-out stays) or not
    (the opt-out is lifted)."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    now = app.clock.now()
    status = ReviewStatus.CONFIRMED if revocation else ReviewStatus.DISMISSED
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        review = store.review(review_id)
        if review is None:
            raise NotFound("No review with that id.")
        if not store.resolve_review(review_id, status, principal.actor, now):
            raise InvalidInput("That review was already resolved.")
        if not revocation:
            store.lift(review.opt_out_id, now, "review")
        _audit(app, session, principal, tenant, "consent.review.resolve", "consent_review",
               review_id, status=str(status), opt_out=str(review.opt_out_id))


# -- do-not-call ---------------------------------------------------------------------------


def dnc_add(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, phone: str,
            source: str = "console") -> bool:
    """Put a number on the practice's do-not-call list (64.1200(d); honoured at once).
    False when it was already there."""
    tenant = _tenant(app, principal, tenant_ref, Action.DNC_WRITE)
    number = _phone(phone)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        store.lock_number(number)
        row = store.dnc_add(number, source, principal.actor, app.clock.now())
        _audit(app, session, principal, tenant, "dnc.add", "dnc", row, source=source,
               added=row is not None)
    return row is not None


def dnc_remove(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
               phone: str) -> None:
    tenant = _tenant(app, principal, tenant_ref, Action.DNC_WRITE)
    number = _phone(phone)
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        store.lock_number(number)
        row = store.dnc_remove(number, principal.actor, app.clock.now())
        if row is None:
            raise NotFound("That number is not on the do-not-call list.")
        _audit(app, session, principal, tenant, "dnc.remove", "dnc", row)


def dnc_list(app: Carecall, principal: Principal,
             tenant_ref: str | uuid.UUID) -> list[DncEntry]:
    tenant = _tenant(app, principal, tenant_ref, Action.DNC_READ)
    with app.db.transaction() as session:
        found = _store(app, session, tenant).dnc_all()
        _audit(app, session, principal, tenant, "dnc.list", "dnc", None, count=len(found))
    return found


def dnc_import(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
               content: bytes, source: str = "import") -> DncImportResult:
    """Import numbers (one a line, or CSV with a phone column): every line valid, or
    nothing is written and every bad line is reported with its line number."""
    tenant = _tenant(app, principal, tenant_ref, Action.DNC_WRITE)
    numbers, problems = parse_numbers(content)
    if problems:
        raise DncImportError(problems=[str(p) for p in problems])
    added = 0
    now = app.clock.now()
    with app.db.transaction() as session:
        store = _store(app, session, tenant)
        for number in numbers:
            added += store.dnc_add(number, source, principal.actor, now) is not None
        _audit(app, session, principal, tenant, "dnc.import", "dnc", None, added=added,
               already=len(numbers) - added, source=source)
    return DncImportResult(added, len(numbers) - added)


class DncImportError(InvalidInput):
    """A do-not-call file with bad lines; ``problems`` lists them, one per line."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else "")
        super().__init__(f"{len(problems)} bad line(s), nothing imported: {shown}. "
                         "Fix them and import the file again.")
        self.problems = problems


# -- contact history -----------------------------------------------------------------------


def record_contact(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID, *,
                   patient_id: uuid.UUID, channel: pm.Channel, purpose: str, outcome: str,
                   at: datetime | None = None, automated: bool = True,
                   provider_sid: str | None = None, ref: str | None = None) -> uuid.UUID:
    """Write one call or text to the history the daily and weekly limits read."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_WRITE)
    with app.db.transaction() as session:
        _require_patient(session, tenant, patient_id)
        contact_id = record_contact_in(session, app, principal, tenant.id, patient_id=patient_id,
                                       channel=channel, purpose=purpose, outcome=outcome,
                                       at=at or app.clock.now(), automated=automated,
                                       provider_sid=provider_sid, ref=ref)
    return contact_id


def record_contact_in(session: Session, app: Carecall, principal: Principal,
                      tenant_id: uuid.UUID, *, patient_id: uuid.UUID, channel: pm.Channel,
                      purpose: str, outcome: str, at: datetime, automated: bool = True,
                      provider_sid: str | None = None, ref: str | None = None) -> uuid.UUID:
    """``record_contact`` inside the caller's unit of work (a campaign attempt, a send)."""
    store = ConsentStore(session, app.keyring, tenant_id, app.index_bits)
    contact_id = store.add_contact(patient_id=patient_id, channel=channel, purpose=purpose,
                                   at=at, outcome=outcome, automated=automated,
                                   provider_sid=provider_sid, ref=ref)
    append(session, AuditEvent(
        actor=principal.actor, action="contact.record", resource_type="contact",
        resource_id=str(contact_id), tenant_id=tenant_id, purpose=purpose,
        details={"patient": str(patient_id), "channel": str(channel), "outcome": outcome,
                 "automated": automated}), app.clock)
    return contact_id


def set_contact_outcome(app: Carecall, principal: Principal, provider_sid: str,
                        outcome: str) -> bool:
    """A status callback's outcome for the contact with this provider sid; False when no
    contact has that sid, or when its outcome already says as much or more."""
    with app.db.transaction() as session:
        return set_contact_outcome_in(session, app, principal, provider_sid, outcome)


def set_contact_outcome_in(session: Session, app: Carecall, principal: Principal,
                           provider_sid: str, outcome: str) -> bool:
    """``set_contact_outcome`` inside the caller's unit of work (a campaign attempt's
    outcome and its history row change together)."""
    from carecall.consent.store import tenant_of_sid

    tenant_id = tenant_of_sid(session, provider_sid)
    if tenant_id is None:
        return False
    ensure_tenant(principal, tenant_id, "contact")
    store = ConsentStore(session, app.keyring, tenant_id, app.index_bits)
    contact = store.contact_by_sid(provider_sid, lock=True)
    assert contact is not None
    if not rules.outranks(outcome, contact.outcome):
        return False
    store.set_contact(contact.id, app.clock.now(), outcome=outcome)
    append(session, AuditEvent(
        actor=principal.actor, action="contact.outcome", resource_type="contact",
        resource_id=str(contact.id), tenant_id=tenant_id,
        details={"outcome": outcome, "previous": contact.outcome}), app.clock)
    return True


def recent_contacts(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                    patient_id: uuid.UUID, window: timedelta = HISTORY_WINDOW) -> list[Contact]:
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    with app.db.transaction() as session:
        found = _store(app, session, tenant).history(patient_id, app.clock.now() - window)
        _audit(app, session, principal, tenant, "contact.list", "patient", patient_id,
               count=len(found))
    return found


# -- the policy's facts ----------------------------------------------------------------------


@dataclass(frozen=True)
class NumberFacts:
    """What the ledger knows about one patient and number, in the policy's own types."""

    consents: tuple[pm.Consent, ...]
    opt_outs: tuple[pm.OptOut, ...]
    on_internal_dnc: bool
    history: tuple[pm.PastContact, ...]


def number_facts(session: Session, app: Carecall, tenant_id: uuid.UUID, patient_id: uuid.UUID,
                 phone: str, now: datetime) -> NumberFacts:
    """The ledger's facts inside the caller's unit of work (no audit: the caller audits its
    decision). Take ``ConsentStore.lock_number`` first when the decision leads to a send, so
    an opt-out cannot slip between the check and the send."""
    store = ConsentStore(session, app.keyring, tenant_id, app.index_bits)
    consents = tuple(
        pm.Consent(c.kind, c.form, c.given_at, c.revoked_at)
        for c in store.consents_of(patient_id) if c.phone == phone)
    opted = tuple(pm.OptOut(o.at, o.channel)
                  for o in rules.in_force(store.opt_outs_for(phone, patient_id), now))
    history = tuple(
        pm.PastContact(c.channel, c.at, c.purpose)
        for c in store.history(patient_id, now - HISTORY_WINDOW)
        if c.outcome not in NOT_SENT_OUTCOMES and c.at <= now)
    return NumberFacts(consents, opted, store.dnc_find(phone) is not None, history)


def tenant_facts(app: Carecall, tenant: Tenant) -> pm.TenantFacts:
    baa = active_baa(tenant.baas, local_date(tenant, app.clock.now()))
    return pm.TenantFacts(
        name=tenant.display_name, contact_phone=tenant.contact_phone,
        baa_active=baa is not None,
        permitted_purposes=frozenset(str(p) for p in baa.permitted_purposes) if baa else
        frozenset(),
        daily_limit=tenant.daily_limit, weekly_limit=tenant.weekly_limit)


@dataclass(frozen=True)
class PolicyFacts:
    """Everything but the message: put a ``pm.Message`` with it into ``pm.PolicyRequest``."""

    tenant: pm.TenantFacts
    contact: pm.ContactFacts
    history: tuple[pm.PastContact, ...]

    def request(self, now: datetime, message: pm.Message) -> pm.PolicyRequest:
        return pm.PolicyRequest(now=now, tenant=self.tenant, contact=self.contact,
                                message=message, history=self.history)


def policy_facts(app: Carecall, principal: Principal, tenant_ref: str | uuid.UUID,
                 patient_id: uuid.UUID, phone: str, *, purpose: Purpose,
                 line_type: pm.LineType = pm.LineType.WIRELESS,
                 timezone: str | None = None) -> PolicyFacts:
    """The outbound policy's input for one patient and number: the practice, the consents,
    opt-outs in force, the do-not-call list, the last 7 days of contacts, and the patient's
    own identifiers (read through the patients service, audited with ``purpose``)."""
    tenant = _tenant(app, principal, tenant_ref, Action.CONSENT_READ)
    number = _phone(phone)
    patient = get_patient(app, principal, tenant.id, patient_id, purpose)
    now = app.clock.now()
    with app.db.transaction() as session:
        facts = number_facts(session, app, tenant.id, patient_id, number, now)
        _audit(app, session, principal, tenant, "consent.facts", "patient", patient_id,
               consents=len(facts.consents), opt_outs=len(facts.opt_outs),
               dnc=facts.on_internal_dnc, history=len(facts.history))
    contact = pm.ContactFacts(
        phone=number, line_type=line_type, provided_by_patient=number in patient.phones,
        timezone=timezone, consents=facts.consents, opt_outs=facts.opt_outs,
        on_internal_dnc=facts.on_internal_dnc,
        patient=pm.PatientFacts(patient.first_name, patient.last_name, patient.dob))
    return PolicyFacts(tenant_facts(app, tenant), contact, facts.history)

