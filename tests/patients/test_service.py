"""The patient directory's doors, on real SQLite and PostgreSQL with real keys."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update
from tests.conftest import NOW
from tests.patients.factories import SYSTEM, make_patient, make_tenant

from carecall.access.model import Principal
from carecall.app import Carecall
from carecall.audit.store import audit_entries
from carecall.core.clock import FixedClock
from carecall.core.errors import (
    DataShredded,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    PolicyRefused,
)
from carecall.patients import service
from carecall.patients.store import TABLES, patients
from carecall.tenants.model import Purpose
from carecall.tenants.store import baas

PHI_VALUES = [
    "Margaret",
    "O'Connell",
    "1982-03-03",
    "+16175550142",
    "maggie@example.org",
    "MRN-100200",
    "INV-20931",
    "Elm Street",
    "02139",
    "Dr. Chen",
    "lisinopril",
    "lipid panel",
    "2026-10-01",
]


def actions(app: Carecall) -> list[str]:
    with app.db.transaction() as session:
        return list(
            session.execute(select(audit_entries.c.action).order_by(audit_entries.c.id)).scalars()
        )


def test_round_trip_of_every_field(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    pid = service.create_patient(carecall, SYSTEM, tenant.slug, make_patient())
    p = service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.SCHEDULING)
    assert (p.first_name, p.last_name, p.dob) == ("Margaret", "O'Connell", date(1982, 3, 3))
    assert p.phones == ("+16175550142",)
    assert p.address is not None
    assert p.address.zip == "02139"
    assert p.mrn == "MRN-100200"
    assert p.invoices[0].number == "INV-20931"
    assert str(p.invoices[0].balance) == "45.00"
    assert p.appointments[0].provider == "Dr. Chen"
    assert p.prescriptions[0].status == "ready"
    assert p.lab_results[0].status == "available"
    assert actions(carecall)[-2:] == ["patient.create", "patient.read"]


def test_no_phi_in_plaintext_anywhere_in_the_database(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    pid = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    service.find_patients(
        carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, phone="617-555-0142"
    )
    service.export_patient(carecall, SYSTEM, tenant.id, pid)
    dump: list[bytes] = []
    with carecall.db.transaction() as session:
        names = [
            "patients",
            "patient_lookup",
            "appointments",
            "invoices",
            "prescriptions",
            "lab_results",
            "audit_entries",
            "tenant_keys",
            "data_keys",
        ]
        for name in names:
            for row in session.execute(text(f"SELECT * FROM {name}")).all():
                for value in row:
                    dump.append(value if isinstance(value, bytes) else str(value).encode())
    blob = b"\n".join(dump)
    for value in PHI_VALUES:
        assert value.encode() not in blob, value


def test_search_by_phone_and_dob_through_blind_indexes(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    maggie = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    namesake = service.create_patient(
        carecall, SYSTEM, tenant.id, make_patient(dob=date(1990, 7, 1), phone="+16175550143")
    )
    by_phone = service.find_patients(
        carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, phone="(617) 555-0142"
    )
    assert [p.id for p in by_phone] == [maggie]
    by_dob = service.find_patients(
        carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, dob=date(1990, 7, 1)
    )
    assert [p.id for p in by_dob] == [namesake]
    assert (
        service.find_patients(
            carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, dob=date(1955, 1, 1)
        )
        == []
    )
    with pytest.raises(InvalidInput):
        service.find_patients(carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING)
    with pytest.raises(InvalidInput):
        service.find_patients(carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, phone="12")


def test_no_active_baa_refuses_and_writes_nothing_but_the_refusal(
    carecall: Carecall, clock: FixedClock
) -> None:
    tenant = make_tenant(carecall, baa=False)
    with pytest.raises(PolicyRefused) as refused:
        service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    assert refused.value.reasons == ("NO_ACTIVE_BAA",)
    with carecall.db.transaction() as session:
        assert session.execute(select(patients.c.id)).first() is None
    assert actions(carecall)[-1] == "phi.refused"


def test_expired_baa_refuses(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    pid = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    clock.advance(timedelta(days=400))
    with pytest.raises(PolicyRefused) as refused:
        service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.SCHEDULING)
    assert refused.value.code == "NO_ACTIVE_BAA"


def test_purpose_outside_the_baa_is_refused(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    pid = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    with carecall.db.transaction() as session:
        session.execute(update(baas).values(permitted_purposes=["scheduling"]))
    with pytest.raises(PolicyRefused) as refused:
        service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.BILLING_ENQUIRY)
    assert refused.value.code == "PURPOSE_NOT_PERMITTED"


def test_other_tenants_see_not_found(carecall: Carecall) -> None:
    a = make_tenant(carecall, "alpha", number="+16175550198")
    b = make_tenant(carecall, "beta", number="+16175550197")
    pid = service.create_patient(carecall, SYSTEM, a.id, make_patient())
    # a fully entitled supervisor of the other tenant: only the tenant wall stops them
    intruder = Principal(kind="user", id="u1", tenant_id=b.id, roles=frozenset({"supervisor"}),
                         training_valid_until=NOW + timedelta(days=100))
    with pytest.raises(NotFound):
        service.get_patient(carecall, intruder, a.id, pid, Purpose.SCHEDULING)
    # the patient id under the intruder's own tenant does not resolve either
    with pytest.raises(NotFound):
        service.get_patient(carecall, intruder, b.id, pid, Purpose.SCHEDULING)
    assert (
        service.find_patients(
            carecall, intruder, b.id, purpose=Purpose.SCHEDULING, phone="+16175550142"
        )
        == []
    )


def test_crypto_shredding_makes_the_record_unreadable(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    pid = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    service.shred_patient(carecall, SYSTEM, tenant.id, pid)
    with pytest.raises(DataShredded):
        service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.SCHEDULING)
    with pytest.raises(DataShredded):
        service.export_patient(carecall, SYSTEM, tenant.id, pid)
    assert (
        service.find_patients(
            carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, phone="+16175550142"
        )
        == []
    )
    assert "patient.shred" in actions(carecall)
    # the ciphertexts are still there, but even a raw read with the keyring cannot open them
    carecall.keyring.clear_cache()
    with pytest.raises(NotFound):
        service.shred_patient(carecall, SYSTEM, tenant.id, pid)


def test_ciphertext_moved_to_another_row_fails_to_decrypt(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    first = service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
    second = service.create_patient(
        carecall, SYSTEM, tenant.id, make_patient("James", "Nguyen", phone="+16175550150")
    )
    with carecall.db.transaction() as session:
        blob = session.execute(
            select(patients.c.first_name).where(patients.c.id == first)
        ).scalar_one()
        session.execute(update(patients).where(patients.c.id == second).values(first_name=blob))
    with pytest.raises((IntegrityFailure, DataShredded)):
        service.get_patient(carecall, SYSTEM, tenant.id, second, Purpose.SCHEDULING)


def test_audit_failure_fails_the_action(carecall: Carecall) -> None:
    """The audit entry is written in the same transaction: if it cannot be, nothing is."""
    tenant = make_tenant(carecall)
    with carecall.db.transaction() as session:
        if carecall.db.dialect == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_entries "
                    "BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'audit unavailable'; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_entries "
                    "FOR EACH ROW EXECUTE FUNCTION no_audit()"
                )
            )
    try:
        with pytest.raises(Exception, match="audit unavailable"):
            service.create_patient(carecall, SYSTEM, tenant.id, make_patient())
        with carecall.db.transaction() as session:
            assert session.execute(select(patients.c.id)).first() is None
    finally:
        with carecall.db.transaction() as session:
            session.execute(
                text(
                    "DROP TRIGGER no_audit"
                    if carecall.db.dialect == "sqlite"
                    else "DROP TRIGGER no_audit ON audit_entries"
                )
            )
            if carecall.db.dialect != "sqlite":
                session.execute(text("DROP FUNCTION no_audit()"))


def test_data_rotation_is_resumable_and_readable_throughout(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    ids = [
        service.create_patient(
            carecall, SYSTEM, tenant.id, make_patient(phone=f"+1617555{300 + i:04d}")
        )
        for i in range(5)
    ]
    # a first run that "crashes" after one batch of two patients
    with carecall.db.transaction() as session:
        carecall.keyring.start_tenant_rotation(session, tenant.id)
    with carecall.db.transaction() as session:
        from carecall.patients.store import PatientStore

        store = PatientStore(session, carecall.keyring, tenant.id, carecall.index_bits)
        for pid in carecall.keyring.subjects_on_old_keys(session, tenant.id, limit=2):
            old, new = carecall.keyring.rotate_subject_key(session, tenant.id, pid)
            store.reencrypt(pid, old, new)
            carecall.keyring.drop_data_key(session, tenant.id, old.key_id)
    # mid-rotation, every patient is readable and findable
    for i, pid in enumerate(ids):
        assert (
            service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.SCHEDULING).first_name
            == "Margaret"
        )
        found = service.find_patients(
            carecall, SYSTEM, tenant.id, purpose=Purpose.SCHEDULING, phone=f"+1617555{300 + i:04d}"
        )
        assert [p.id for p in found] == [pid]
    # a patient written mid-rotation is under the new key already
    late = service.create_patient(carecall, SYSTEM, tenant.id, make_patient(phone="+16175550399"))
    seen: list[tuple[int, int]] = []
    moved = service.rotate_tenant_data(
        carecall, SYSTEM, tenant.id, batch_size=2, progress=lambda d, t: seen.append((d, t))
    )
    assert moved == 3
    assert seen[-1] == (3, 3)
    carecall.keyring.clear_cache()
    for pid in [*ids, late]:
        assert (
            service.get_patient(carecall, SYSTEM, tenant.id, pid, Purpose.SCHEDULING).mrn
            == "MRN-100200"
        )
    with carecall.db.transaction() as session:
        assert carecall.keyring.subjects_on_old_keys(session, tenant.id, limit=None) == []
    assert "keys.rotate_data.finish" in actions(carecall)


def test_import_is_all_or_nothing_and_export_has_the_whole_record(carecall: Carecall) -> None:
    tenant = make_tenant(carecall)
    ids = service.import_patients(
        carecall,
        SYSTEM,
        tenant.id,
        [make_patient(), make_patient("Anna", "Kowalski", phone="+16175550177")],
        source="csv",
    )
    assert len(ids) == 2
    doc = service.export_patient(carecall, SYSTEM, tenant.id, ids[1])
    assert doc["first_name"] == "Anna"
    assert doc["billing"]["invoices"] == [{"number": "INV-20931", "balance": "45.00"}]
    assert doc["appointments"][0]["location"] == "Main clinic"
    with pytest.raises(NotFound):
        service.export_patient(carecall, SYSTEM, tenant.id, uuid.uuid4())


def test_encrypted_tables_cover_every_phi_column() -> None:
    assert set(TABLES) == {"patients", "appointments", "invoices", "prescriptions", "lab_results"}
