"""Consent tables and the repository that encrypts and decrypts them.

No phone number is stored in the clear: each is a truncated blind index (to find a handful of
candidate rows) plus an AES-GCM ciphertext (to compare exactly in memory), as the patient
directory does. Values about a known patient are sealed under that patient's data key (so
shredding the patient shreds them); numbers with no patient (an inbound STOP from an unknown
number, the do-not-call list) under one per-tenant "contact numbers" subject key. Contact
history holds no number at all: the policy's limits are per patient.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from base64 import b64decode, b64encode
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Uuid,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from carecall.consent.model import (
    Consent,
    ConsentForm,
    ConsentInput,
    ConsentKind,
    Contact,
    DncEntry,
    Evidence,
    EvidenceKind,
    OptOut,
    OptOutScope,
    OptOutSource,
    Review,
    ReviewStatus,
)
from carecall.core.ids import new_id
from carecall.crypto.envelope import DataKey, FieldContext, blob_key_id
from carecall.crypto.keyring import Keyring
from carecall.policy.model import Channel
from carecall.store.schema import UtcDateTime, metadata

PHONE_INDEX = "phone"

consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("phone_index", BigInteger, nullable=False),
    Column("phone", LargeBinary, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("form", String(10), nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("source", String(20), nullable=False),
    Column("revoked_source", String(20), nullable=True),
    Column("evidence_kind", String(20), nullable=True),
    Column("evidence", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_consents_tenant_phone", "tenant_id", "phone_index"),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id", ondelete="CASCADE"), nullable=True,
           index=True),
    # NULL number: every number of the patient (an opt-out given about the person).
    Column("phone_index", BigInteger, nullable=True),
    Column("phone", LargeBinary, nullable=True),
    Column("channel", String(10), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("source", String(20), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("lifted_at", UtcDateTime, nullable=True),
    Column("lifted_source", String(20), nullable=True),
    # The one confirmation text (47 CFR 64.1200(a)(12)) was sent for this opt-out.
    Column("confirmed", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_opt_outs_tenant_phone", "tenant_id", "phone_index"),
)

consent_reviews = Table(
    "consent_reviews",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("opt_out_id", Uuid, ForeignKey("opt_outs.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("reason", String(40), nullable=False),
    Column("status", String(12), nullable=False),
    # The message as received, for the reviewer; sealed like the opt-out's number.
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Index("ix_consent_reviews_tenant_status", "tenant_id", "status"),
)

dnc_numbers = Table(
    "dnc_numbers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("phone_index", BigInteger, nullable=False),
    Column("phone", LargeBinary, nullable=False),
    Column("source", String(20), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("added_by", String(200), nullable=False),
    # Kept after removal: 64.1200(d)(6) keeps do-not-call requests five years.
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removed_by", String(200), nullable=True),
    Index("ix_dnc_numbers_tenant_phone", "tenant_id", "phone_index"),
)

contact_history = Table(
    "contact_history",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("automated", Boolean, nullable=False),
    Column("provider_sid", String(64), nullable=True, index=True),
    Column("ref", String(64), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_contact_history_patient_at", "tenant_id", "patient_id", "at"),
)


def numbers_subject(tenant_id: uuid.UUID) -> uuid.UUID:
    """The key subject for numbers that belong to no known patient (one per tenant)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"carecall:{tenant_id}:contact-numbers")


def _evidence_json(evidence: Evidence) -> str:
    return json.dumps({
        "kind": str(evidence.kind),
        "reference": evidence.reference,
        "content_type": evidence.content_type,
        "document": b64encode(evidence.document).decode() if evidence.document else None,
    }, sort_keys=True)


def _evidence(text_: str) -> Evidence:
    data = json.loads(text_)
    document = data.get("document")
    return Evidence(kind=EvidenceKind(data["kind"]), reference=data.get("reference"),
                    content_type=data.get("content_type"),
                    document=b64decode(document) if document else None)


class ConsentStore:
    """The only code that reads or writes the consent tables; its caller (``service``)
    checks permission and tenant and audits in the same session."""

    def __init__(self, session: Session, keyring: Keyring, tenant_id: uuid.UUID,
                 index_bits: int) -> None:
        self.session = session
        self.keyring = keyring
        self.tenant_id = tenant_id
        self.index_bits = index_bits
        self._keys: dict[uuid.UUID, DataKey] = {}

    # -- crypto helpers --------------------------------------------------------------------

    def _seal(self, subject: uuid.UUID, table: str, column: str, row_id: uuid.UUID,
              value: bytes) -> bytes:
        key = self.keyring.data_key_for(self.session, self.tenant_id, subject)
        return key.seal(value, FieldContext(self.tenant_id, table, column, row_id))

    def _open(self, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> bytes:
        key_id = blob_key_id(blob)
        key = self._keys.get(key_id)
        if key is None:
            key = self.keyring.data_key_by_id(self.session, self.tenant_id, key_id)
            self._keys[key_id] = key
        return key.open(blob, FieldContext(self.tenant_id, table, column, row_id))

    def preload_keys(self, blobs: list[bytes | None]) -> None:
        """Fetch the data keys these ciphertexts name in a few queries (bulk reads)."""
        wanted = {blob_key_id(b) for b in blobs if b is not None} - set(self._keys)
        if wanted:
            self._keys.update(self.keyring.data_keys_by_ids(self.session, self.tenant_id,
                                                            list(wanted)))

    def _phone(self, table: str, row_id: uuid.UUID, blob: bytes | None) -> str | None:
        return None if blob is None else self._open(table, "phone", row_id, blob).decode()

    def index_of(self, phone: str) -> int:
        """The index value to write (under the tenant's active key version)."""
        return self.keyring.blind_index(self.session, self.tenant_id, PHONE_INDEX, phone,
                                        self.index_bits)[0]

    def indexes_of(self, phone: str) -> list[int]:
        """The index values to search with (every readable key version)."""
        return self.keyring.blind_index(self.session, self.tenant_id, PHONE_INDEX, phone,
                                        self.index_bits)

    def lock_number(self, phone: str) -> None:
        """Serialise everything that decides or records contact with one number (opt-outs,
        sends) until the transaction ends: PostgreSQL takes an advisory lock on the number's
        index; SQLite's ``BEGIN IMMEDIATE`` already holds the database's write lock."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.sha256(self.tenant_id.bytes + phone.encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    # -- consents --------------------------------------------------------------------------

    def add_consent(self, data: ConsentInput, now: datetime) -> uuid.UUID:
        row_id = new_id()
        subject = data.patient_id
        evidence = None
        if data.evidence is not None:
            evidence = self._seal(subject, "consents", "evidence", row_id,
                                  _evidence_json(data.evidence).encode())
        self.session.execute(insert(consents).values(
            id=row_id, tenant_id=self.tenant_id, patient_id=data.patient_id,
            phone_index=self.index_of(data.phone),
            phone=self._seal(subject, "consents", "phone", row_id, data.phone.encode()),
            kind=str(data.kind), form=str(data.form), given_at=data.given_at,
            source=str(data.source),
            evidence_kind=str(data.evidence.kind) if data.evidence else None,
            evidence=evidence, created_at=now))
        return row_id

    def consent_from(self, r: object) -> Consent:
        m = r._mapping  # type: ignore[attr-defined]
        return Consent(
            id=m["id"], patient_id=m["patient_id"],
            phone=self._phone("consents", m["id"], m["phone"]) or "",
            kind=ConsentKind(m["kind"]), form=ConsentForm(m["form"]), given_at=m["given_at"],
            source=m["source"], revoked_at=m["revoked_at"],
            revoked_source=m["revoked_source"],
            evidence_kind=EvidenceKind(m["evidence_kind"]) if m["evidence_kind"] else None)

    def consents_of(self, patient_id: uuid.UUID) -> list[Consent]:
        rows = self.session.execute(
            select(consents).where(consents.c.tenant_id == self.tenant_id,
                                   consents.c.patient_id == patient_id)
            .order_by(consents.c.given_at, consents.c.id)).all()
        return [self.consent_from(r) for r in rows]

    def consent(self, consent_id: uuid.UUID) -> Consent | None:
        row = self.session.execute(
            select(consents).where(consents.c.tenant_id == self.tenant_id,
                                   consents.c.id == consent_id)).first()
        return None if row is None else self.consent_from(row)

    def evidence(self, consent_id: uuid.UUID) -> Evidence | None:
        blob = self.session.execute(
            select(consents.c.evidence).where(consents.c.tenant_id == self.tenant_id,
                                              consents.c.id == consent_id)).scalar()
        if blob is None:
            return None
        return _evidence(self._open("consents", "evidence", consent_id, blob).decode())

    def revoke_consent(self, consent_id: uuid.UUID, at: datetime, source: str) -> bool:
        result = self.session.execute(
            update(consents)
            .where(consents.c.tenant_id == self.tenant_id, consents.c.id == consent_id,
                   consents.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_source=source))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_for_number(self, phone: str, kinds: frozenset[ConsentKind], at: datetime,
                          source: str, patient_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        """Revoke every unrevoked consent of these kinds for this number (or, with no number
        known, for the patient's every number)."""
        query = select(consents).where(consents.c.tenant_id == self.tenant_id,
                                       consents.c.revoked_at.is_(None),
                                       consents.c.kind.in_([str(k) for k in kinds]))
        if phone:
            query = query.where(consents.c.phone_index.in_(self.indexes_of(phone)))
        elif patient_id is not None:
            query = query.where(consents.c.patient_id == patient_id)
        else:
            return []
        revoked = []
        for row in self.session.execute(query).all():
            found = self.consent_from(row)
            if phone and found.phone != phone:
                continue
            self.revoke_consent(found.id, at, source)
            revoked.append(found.id)
        return revoked

    # -- opt-outs --------------------------------------------------------------------------

    def add_opt_out(self, *, phone: str | None, patient_id: uuid.UUID | None,
                    channel: Channel, scope: OptOutScope, source: OptOutSource, reason: str,
                    at: datetime, confirmed: bool, now: datetime) -> uuid.UUID:
        row_id = new_id()
        subject = patient_id or numbers_subject(self.tenant_id)
        self.session.execute(insert(opt_outs).values(
            id=row_id, tenant_id=self.tenant_id, patient_id=patient_id,
            phone_index=self.index_of(phone) if phone else None,
            phone=self._seal(subject, "opt_outs", "phone", row_id, phone.encode())
            if phone else None,
            channel=str(channel), scope=str(scope), source=str(source), reason=reason, at=at,
            confirmed=confirmed, created_at=now))
        return row_id

    def opt_out_from(self, r: object) -> OptOut:
        m = r._mapping  # type: ignore[attr-defined]
        return OptOut(
            id=m["id"], phone=self._phone("opt_outs", m["id"], m["phone"]),
            patient_id=m["patient_id"], channel=Channel(m["channel"]),
            scope=OptOutScope(m["scope"]), source=OptOutSource(m["source"]),
            reason=m["reason"], at=m["at"], lifted_at=m["lifted_at"],
            confirmed=bool(m["confirmed"]))

    def opt_outs_for(self, phone: str | None, patient_id: uuid.UUID | None) -> list[OptOut]:
        """Opt-outs of this number (whoever gave them) and the patient's number-less ones."""
        found: list[OptOut] = []
        if phone:
            rows = self.session.execute(
                select(opt_outs).where(opt_outs.c.tenant_id == self.tenant_id,
                                       opt_outs.c.phone_index.in_(self.indexes_of(phone)))
                .order_by(opt_outs.c.at, opt_outs.c.id)).all()
            found += [o for o in map(self.opt_out_from, rows) if o.phone == phone]
        if patient_id is not None:
            rows = self.session.execute(
                select(opt_outs).where(opt_outs.c.tenant_id == self.tenant_id,
                                       opt_outs.c.patient_id == patient_id,
                                       opt_outs.c.phone_index.is_(None))
                .order_by(opt_outs.c.at, opt_outs.c.id)).all()
            found += [self.opt_out_from(r) for r in rows]
        return found

    def opt_out(self, opt_out_id: uuid.UUID) -> OptOut | None:
        row = self.session.execute(
            select(opt_outs).where(opt_outs.c.tenant_id == self.tenant_id,
                                   opt_outs.c.id == opt_out_id)).first()
        return None if row is None else self.opt_out_from(row)

    def lift(self, opt_out_id: uuid.UUID, at: datetime, source: str) -> bool:
        result = self.session.execute(
            update(opt_outs)
            .where(opt_outs.c.tenant_id == self.tenant_id, opt_outs.c.id == opt_out_id,
                   opt_outs.c.lifted_at.is_(None))
            .values(lifted_at=at, lifted_source=source))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- reviews ---------------------------------------------------------------------------

    def add_review(self, opt_out_id: uuid.UUID, reason: str, body: str | None,
                   subject: uuid.UUID, now: datetime) -> uuid.UUID:
        row_id = new_id()
        self.session.execute(insert(consent_reviews).values(
            id=row_id, tenant_id=self.tenant_id, opt_out_id=opt_out_id, reason=reason,
            status=str(ReviewStatus.PENDING),
            body=self._seal(subject, "consent_reviews", "body", row_id, body.encode())
            if body else None,
            created_at=now))
        return row_id

    def reviews(self, status: ReviewStatus | None, with_text: bool) -> list[Review]:
        query = select(consent_reviews).where(consent_reviews.c.tenant_id == self.tenant_id)
        if status is not None:
            query = query.where(consent_reviews.c.status == str(status))
        rows = self.session.execute(
            query.order_by(consent_reviews.c.created_at, consent_reviews.c.id)).all()
        return [self._review(r, with_text) for r in rows]

    def review(self, review_id: uuid.UUID, with_text: bool = False) -> Review | None:
        row = self.session.execute(
            select(consent_reviews).where(consent_reviews.c.tenant_id == self.tenant_id,
                                          consent_reviews.c.id == review_id)).first()
        return None if row is None else self._review(row, with_text)

    def _review(self, r: object, with_text: bool) -> Review:
        m = r._mapping  # type: ignore[attr-defined]
        body = None
        if with_text and m["body"] is not None:
            body = self._open("consent_reviews", "body", m["id"], m["body"]).decode()
        return Review(id=m["id"], opt_out_id=m["opt_out_id"], reason=m["reason"],
                      status=ReviewStatus(m["status"]), created_at=m["created_at"], text=body,
                      resolved_at=m["resolved_at"])

    def resolve_review(self, review_id: uuid.UUID, status: ReviewStatus, actor: str,
                       now: datetime) -> bool:
        result = self.session.execute(
            update(consent_reviews)
            .where(consent_reviews.c.tenant_id == self.tenant_id,
                   consent_reviews.c.id == review_id,
                   consent_reviews.c.status == str(ReviewStatus.PENDING))
            .values(status=str(status), resolved_at=now, resolved_by=actor))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- do-not-call -----------------------------------------------------------------------

    def dnc_find(self, phone: str) -> DncEntry | None:
        rows = self.session.execute(
            select(dnc_numbers).where(dnc_numbers.c.tenant_id == self.tenant_id,
                                      dnc_numbers.c.phone_index.in_(self.indexes_of(phone)),
                                      dnc_numbers.c.removed_at.is_(None))).all()
        for row in rows:
            entry = self.dnc_from(row)
            if entry.phone == phone:
                return entry
        return None

    def dnc_from(self, r: object) -> DncEntry:
        m = r._mapping  # type: ignore[attr-defined]
        return DncEntry(id=m["id"], phone=self._phone("dnc_numbers", m["id"], m["phone"]) or "",
                        source=m["source"], added_at=m["added_at"])

    def dnc_add(self, phone: str, source: str, actor: str, now: datetime) -> uuid.UUID | None:
        """Add a number; None when it is already on the list."""
        if self.dnc_find(phone) is not None:
            return None
        row_id = new_id()
        self.session.execute(insert(dnc_numbers).values(
            id=row_id, tenant_id=self.tenant_id, phone_index=self.index_of(phone),
            phone=self._seal(numbers_subject(self.tenant_id), "dnc_numbers", "phone", row_id,
                             phone.encode()),
            source=source, added_at=now, added_by=actor))
        return row_id

    def dnc_remove(self, phone: str, actor: str, now: datetime) -> uuid.UUID | None:
        entry = self.dnc_find(phone)
        if entry is None:
            return None
        self.session.execute(update(dnc_numbers).where(dnc_numbers.c.id == entry.id)
                             .values(removed_at=now, removed_by=actor))
        return entry.id

    def dnc_all(self) -> list[DncEntry]:
        rows = self.session.execute(
            select(dnc_numbers).where(dnc_numbers.c.tenant_id == self.tenant_id,
                                      dnc_numbers.c.removed_at.is_(None))
            .order_by(dnc_numbers.c.added_at, dnc_numbers.c.id)).all()
        return [self.dnc_from(r) for r in rows]

    # -- contact history -------------------------------------------------------------------

    def add_contact(self, *, patient_id: uuid.UUID, channel: Channel, purpose: str,
                    at: datetime, outcome: str, automated: bool, provider_sid: str | None,
                    ref: str | None) -> uuid.UUID:
        row_id = new_id()
        self.session.execute(insert(contact_history).values(
            id=row_id, tenant_id=self.tenant_id, patient_id=patient_id, channel=str(channel),
            purpose=purpose, at=at, outcome=outcome, automated=automated,
            provider_sid=provider_sid, ref=ref, updated_at=at))
        return row_id

    def set_contact(self, contact_id: uuid.UUID, now: datetime, *, outcome: str | None = None,
                    provider_sid: str | None = None) -> bool:
        values: dict[str, object] = {"updated_at": now}
        if outcome is not None:
            values["outcome"] = outcome
        if provider_sid is not None:
            values["provider_sid"] = provider_sid
        result = self.session.execute(
            update(contact_history)
            .where(contact_history.c.tenant_id == self.tenant_id,
                   contact_history.c.id == contact_id).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def contact_by_sid(self, provider_sid: str, *, lock: bool = False) -> Contact | None:
        query = select(contact_history).where(contact_history.c.tenant_id == self.tenant_id,
                                              contact_history.c.provider_sid == provider_sid)
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _contact(row)

    def history(self, patient_id: uuid.UUID, since: datetime) -> list[Contact]:
        rows = self.session.execute(
            select(contact_history).where(contact_history.c.tenant_id == self.tenant_id,
                                          contact_history.c.patient_id == patient_id,
                                          contact_history.c.at >= since)
            .order_by(contact_history.c.at, contact_history.c.id)).all()
        return [_contact(r) for r in rows]


def _contact(r: object) -> Contact:
    m = r._mapping  # type: ignore[attr-defined]
    return Contact(id=m["id"], patient_id=m["patient_id"], channel=Channel(m["channel"]),
                   purpose=m["purpose"], at=m["at"], outcome=m["outcome"],
                   automated=bool(m["automated"]), provider_sid=m["provider_sid"],
                   ref=m["ref"])


def tenant_of_sid(session: Session, provider_sid: str) -> uuid.UUID | None:
    """The tenant a contact with this provider sid belongs to (for status callbacks)."""
    return session.execute(
        select(contact_history.c.tenant_id).where(contact_history.c.provider_sid == provider_sid)
    ).scalar()


#: Every sealed column of the consent tables (for data-key rotation).
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "consents": ("phone", "evidence"),
    "opt_outs": ("phone",),
    "consent_reviews": ("body",),
    "dnc_numbers": ("phone",),
}


def reencrypt_subject(session: Session, keyring: Keyring, tenant_id: uuid.UUID,
                      index_bits: int, subject: uuid.UUID, old: DataKey,
                      new: DataKey) -> int:
    """Data-key rotation for one subject (a patient, or the tenant's contact-numbers
    subject): re-seal every consent-table value under ``old`` with ``new`` and recompute
    the number's blind index under the tenant's active key. Returns values re-sealed.

    Run it in the rotation's unit of work, before ``drop_data_key(old)``, or the values
    under ``old`` become unreadable."""
    store = ConsentStore(session, keyring, tenant_id, index_bits)
    is_numbers = subject == numbers_subject(tenant_id)
    owned = opt_outs.c.patient_id.is_(None) if is_numbers else opt_outs.c.patient_id == subject
    selections: dict[str, object] = {
        "consents": consents.c.patient_id == subject,
        "opt_outs": owned,
        "consent_reviews": consent_reviews.c.opt_out_id.in_(
            select(opt_outs.c.id).where(opt_outs.c.tenant_id == tenant_id, owned)),
    }
    if is_numbers:
        selections["dnc_numbers"] = dnc_numbers.c.tenant_id == tenant_id
    tables = {"consents": consents, "opt_outs": opt_outs, "consent_reviews": consent_reviews,
              "dnc_numbers": dnc_numbers}
    done = 0
    for name, where in selections.items():
        table = tables[name]
        columns = ENCRYPTED_COLUMNS[name]
        rows = session.execute(
            select(table.c.id, *[table.c[c] for c in columns])
            .where(table.c.tenant_id == tenant_id, where)  # type: ignore[arg-type]
        ).all()
        for row in rows:
            values: dict[str, object] = {}
            for column in columns:
                blob = row._mapping[column]
                if blob is None or blob_key_id(blob) != old.key_id:
                    continue
                ctx = FieldContext(tenant_id, name, column, row.id)
                plain = old.open(blob, ctx)
                values[column] = new.seal(plain, ctx)
                if column == "phone":
                    values["phone_index"] = store.index_of(plain.decode())
                done += 1
            if values:
                session.execute(update(table).where(table.c.id == row.id).values(**values))
    return done
