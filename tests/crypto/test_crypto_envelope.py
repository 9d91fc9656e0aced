"""Field encryption: round trips, and every way a ciphertext can be moved or altered."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecall.core.errors import IntegrityFailure
from carecall.crypto.envelope import DataKey, FieldContext, blob_key_id, encode_aad

TENANT = uuid.UUID("0190c0de-0000-7000-8000-000000000001")
ROW = uuid.UUID("0190c0de-0000-7000-8000-0000000000aa")
CTX = FieldContext(TENANT, "patients", "first_name", ROW)


def make_key() -> DataKey:
    return DataKey(uuid.uuid4(), os.urandom(32))


def test_round_trip_and_header() -> None:
    key = make_key()
    blob = key.seal(b"Ada Lovelace", CTX)
    assert key.open(blob, CTX) == b"Ada Lovelace"
    assert blob[0] == 1
    assert blob_key_id(blob) == key.key_id
    assert b"Ada" not in blob


def test_same_plaintext_gives_different_ciphertexts() -> None:
    key = make_key()
    assert key.seal(b"x", CTX) != key.seal(b"x", CTX)


@pytest.mark.parametrize("field", ["tenant_id", "table", "column", "row_id"])
def test_each_bound_field_is_checked(field: str) -> None:
    key = make_key()
    blob = key.seal(b"1990-01-01", CTX)
    other: Any = uuid.uuid4() if field in ("tenant_id", "row_id") else "other"
    moved = replace(CTX, **{field: other})
    with pytest.raises(IntegrityFailure, match="integrity check"):
        key.open(blob, moved)


def test_key_id_is_bound_even_with_the_same_material() -> None:
    material = os.urandom(32)
    key = DataKey(uuid.uuid4(), material)
    twin = DataKey(uuid.uuid4(), material)
    blob = key.seal(b"secret", CTX)
    with pytest.raises(IntegrityFailure, match="different key"):
        twin.open(blob, CTX)
    # rewriting the header's key id to the twin's does not help: the AAD binds it
    forged = blob[:1] + twin.key_id.bytes + blob[17:]
    with pytest.raises(IntegrityFailure, match="integrity check"):
        twin.open(forged, CTX)


def test_wrong_key_fails() -> None:
    blob = make_key().seal(b"secret", CTX)
    stranger = make_key()
    forged = blob[:1] + stranger.key_id.bytes + blob[17:]
    with pytest.raises(IntegrityFailure):
        stranger.open(forged, CTX)


def test_every_byte_is_authenticated() -> None:
    key = make_key()
    blob = key.seal(b"555-0100", CTX)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(IntegrityFailure):
            key.open(bytes(tampered), CTX)


@pytest.mark.parametrize("cut", [0, 1, 17, 29, 44])
def test_truncated_blob_is_rejected(cut: int) -> None:
    key = make_key()
    blob = key.seal(b"", CTX)
    with pytest.raises(IntegrityFailure, match="malformed"):
        key.open(blob[:cut], CTX)
    with pytest.raises(IntegrityFailure):
        blob_key_id(blob[:cut])


def test_text_helpers_keep_none() -> None:
    key = make_key()
    assert key.seal_text(None, CTX) is None
    assert key.open_text(None, CTX) is None
    assert key.open_text(key.seal_text("Zoë", CTX), CTX) == "Zoë"
    with pytest.raises(IntegrityFailure):
        key.open_text(key.seal(b"\xff\xfe", CTX), CTX)


def test_aad_is_injective_across_field_boundaries() -> None:
    key_id = uuid.uuid4()
    a = encode_aad(FieldContext(TENANT, "ab", "c", ROW), key_id)
    b = encode_aad(FieldContext(TENANT, "a", "bc", ROW), key_id)
    assert a != b


def test_repr_hides_material() -> None:
    material = os.urandom(32)
    key = DataKey(uuid.uuid4(), material)
    assert material.hex() not in repr(key)
    assert str(key.key_id) in repr(key)


def test_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(uuid.uuid4(), os.urandom(16))


@given(plaintext=st.binary(max_size=2048), table=st.text(max_size=30),
       column=st.text(max_size=30), row=st.uuids(), tenant=st.uuids())
def test_round_trip_property(plaintext: bytes, table: str, column: str, row: uuid.UUID,
                             tenant: uuid.UUID) -> None:
    key = make_key()
    ctx = FieldContext(tenant, table, column, row)
    assert key.open(key.seal(plaintext, ctx), ctx) == plaintext


@given(a=st.tuples(st.text(max_size=8), st.text(max_size=8)),
       b=st.tuples(st.text(max_size=8), st.text(max_size=8)))
def test_aad_differs_whenever_context_differs(a: tuple[str, str], b: tuple[str, str]) -> None:
    key_id = uuid.uuid4()
    ea = encode_aad(FieldContext(TENANT, a[0], a[1], ROW), key_id)
    eb = encode_aad(FieldContext(TENANT, b[0], b[1], ROW), key_id)
    assert (ea == eb) == (a == b)
