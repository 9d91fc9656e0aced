"""Streaming encryption: round trips, and truncation, reordering, appending and chunk swaps."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecall.core.errors import IntegrityFailure, InvalidInput
from carecall.crypto.envelope import DataKey, FieldContext
from carecall.crypto.stream import (
    HEADER_SIZE,
    RAW_KEY_ID,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
    stream_key_id,
)

CHUNK = 64
SEALED = CHUNK + 16
CTX = FieldContext(uuid.uuid4(), "recordings", "audio", uuid.uuid4())


def encrypt(key: DataKey | bytes, data: bytes, ctx: FieldContext = CTX,
            chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    written = encrypt_stream(key, ctx, io.BytesIO(data), out, chunk)
    assert written == len(out.getvalue()) == encrypted_size(len(data), chunk)
    return out.getvalue()


def decrypt(key: DataKey | bytes, blob: bytes, ctx: FieldContext = CTX) -> bytes:
    out = io.BytesIO()
    written = decrypt_stream(key, ctx, io.BytesIO(blob), out)
    assert written == len(out.getvalue())
    return out.getvalue()


def chunks(blob: bytes) -> list[bytes]:
    body = blob[HEADER_SIZE:]
    return [body[i:i + SEALED] for i in range(0, len(body), SEALED)]


@pytest.fixture
def key() -> DataKey:
    return DataKey(uuid.uuid4(), os.urandom(32))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip(key: DataKey, size: int) -> None:
    data = os.urandom(size)
    blob = encrypt(key, data)
    assert decrypt(key, blob) == data
    assert stream_key_id(blob[:HEADER_SIZE]) == key.key_id


def test_default_chunk_round_trip(key: DataKey) -> None:
    data = os.urandom(200_000)
    out = io.BytesIO()
    encrypt_stream(key, CTX, io.BytesIO(data), out)
    assert decrypt(key, out.getvalue()) == data


def test_raw_key_bytes(key: DataKey) -> None:
    raw = os.urandom(32)
    blob = encrypt(raw, b"hello" * 40)
    assert stream_key_id(blob) == RAW_KEY_ID
    assert decrypt(raw, blob) == b"hello" * 40
    with pytest.raises(IntegrityFailure):
        decrypt(os.urandom(32), blob)
    with pytest.raises(InvalidInput):
        encrypt(b"short", b"x")


@pytest.mark.parametrize("cut_chunks", [1, 2])
def test_truncation_at_a_chunk_boundary(key: DataKey, cut_chunks: int) -> None:
    blob = encrypt(key, os.urandom(3 * CHUNK + 10))
    truncated = blob[:HEADER_SIZE + (4 - cut_chunks) * SEALED]
    with pytest.raises(IntegrityFailure, match="truncated"):
        decrypt(key, truncated)


@pytest.mark.parametrize("cut", [1, 15, SEALED - 1])
def test_truncation_inside_a_chunk(key: DataKey, cut: int) -> None:
    blob = encrypt(key, os.urandom(2 * CHUNK))
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob[:-cut])


def test_truncation_to_the_header_and_below(key: DataKey) -> None:
    blob = encrypt(key, os.urandom(CHUNK))
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob[:HEADER_SIZE])
    with pytest.raises(IntegrityFailure, match="header"):
        decrypt(key, blob[:HEADER_SIZE - 1])


def test_reordered_chunks(key: DataKey) -> None:
    blob = encrypt(key, os.urandom(3 * CHUNK))
    parts = chunks(blob)
    swapped = blob[:HEADER_SIZE] + parts[1] + parts[0] + parts[2]
    with pytest.raises(IntegrityFailure):
        decrypt(key, swapped)


def test_appended_data(key: DataKey) -> None:
    blob = encrypt(key, os.urandom(2 * CHUNK + 3))
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob + os.urandom(SEALED))
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob + chunks(blob)[0])
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob + b"\x00")


def test_chunk_swapped_in_from_another_stream(key: DataKey) -> None:
    data = os.urandom(3 * CHUNK)
    first = encrypt(key, data)
    second = encrypt(key, data)  # same key, context and plaintext: only the salt differs
    mixed = first[:HEADER_SIZE] + chunks(first)[0] + chunks(second)[1] + chunks(first)[2]
    with pytest.raises(IntegrityFailure):
        decrypt(key, mixed)


def test_header_is_authenticated(key: DataKey) -> None:
    blob = encrypt(key, os.urandom(2 * CHUNK))
    for position in range(17, HEADER_SIZE):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(IntegrityFailure):
            decrypt(key, bytes(tampered))


def test_every_ciphertext_byte_is_authenticated(key: DataKey) -> None:
    blob = encrypt(key, os.urandom(CHUNK + 7))
    for position in range(HEADER_SIZE, len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises(IntegrityFailure):
            decrypt(key, bytes(tampered))


def test_context_and_key_are_bound(key: DataKey) -> None:
    blob = encrypt(key, b"recording")
    with pytest.raises(IntegrityFailure):
        decrypt(key, blob, FieldContext(CTX.tenant_id, "recordings", "audio", uuid.uuid4()))
    with pytest.raises(IntegrityFailure, match="different key"):
        decrypt(DataKey(uuid.uuid4(), os.urandom(32)), blob)


def test_chunk_size_limits(key: DataKey) -> None:
    with pytest.raises(InvalidInput):
        encrypt_stream(key, CTX, io.BytesIO(b"x"), io.BytesIO(), chunk_size=8)
    blob = bytearray(encrypt(key, b"x"))
    blob[HEADER_SIZE - 4:HEADER_SIZE] = (1 << 30).to_bytes(4, "big")
    with pytest.raises(IntegrityFailure, match="header"):
        decrypt(key, bytes(blob))


class BoundedReader(io.RawIOBase):
    """A raw file that returns short reads and records the largest read asked of it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.largest = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.largest = max(self.largest, len(buffer))
        piece = self._data.read(min(len(buffer), 7))
        buffer[:len(piece)] = piece
        return len(piece)


def test_constant_memory_reads_and_short_reads(key: DataKey) -> None:
    data = os.urandom(10 * CHUNK + 3)
    source = BoundedReader(data)
    out = io.BytesIO()
    encrypt_stream(key, CTX, source, out, CHUNK)  # type: ignore[arg-type]
    assert source.largest <= CHUNK
    back = BoundedReader(out.getvalue())
    plain = io.BytesIO()
    decrypt_stream(key, CTX, back, plain)  # type: ignore[arg-type]
    assert back.largest <= SEALED
    assert plain.getvalue() == data


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), chunk=st.integers(min_value=16, max_value=200))
def test_round_trip_property(data: bytes, chunk: int) -> None:
    key = DataKey(uuid.uuid4(), os.urandom(32))
    assert decrypt(key, encrypt(key, data, chunk=chunk)) == data
