"""Streaming encryption for call recordings and other large blobs, in constant memory.

The construction is the STREAM online AEAD (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), laid out as in
Tink's AES-GCM-HKDF streaming AEAD:

    header  = format (1) || key id (16) || salt (32) || nonce prefix (7) || chunk size (4)
    key     = HKDF-SHA256(data key, salt, "carecall/stream/v1" || encode_aad(ctx, key id))
    chunk i = AES-256-GCM(key, nonce = prefix || i (4, big-endian) || last (1), aad = header)

A fresh salt gives every stream its own key, so chunks swapped in from another stream fail;
the counter catches reordering and dropped chunks; the last-chunk flag catches truncation at a
chunk boundary and anything appended. The header is the associated data of every chunk, so
it cannot be edited either. ``decrypt_stream`` writes each chunk as soon as it verifies: on an
``IntegrityFailure`` the caller must discard what was written (write to a temporary file and
rename on success).
"""

from __future__ import annotations

import os
import uuid
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carecall.core.errors import IntegrityFailure, InvalidInput
from carecall.crypto.envelope import KEY_BYTES, DataKey, FieldContext, encode_aad

STREAM_FORMAT = 2  # distinct from field blobs (1), so neither is mistaken for the other
DEFAULT_CHUNK = 64 * 1024
MIN_CHUNK = 16
#: A bound on what a header may ask the reader to buffer.
MAX_CHUNK = 8 * 1024 * 1024
_SALT = 32
_PREFIX = 7
_TAG = 16
HEADER_SIZE = 1 + 16 + _SALT + _PREFIX + 4
_MAX_CHUNKS = 2**32
_INFO = b"carecall/stream/v1"
#: The key id a stream under a raw key (not a ``DataKey``) carries.
RAW_KEY_ID = uuid.UUID(int=0)

_TAMPERED = (
    "An encrypted stream failed its integrity check (truncated, reordered, altered or "
    "extended); discard the output and restore the file from backup."
)
_MALFORMED = (
    "An encrypted stream has a malformed header; discard the output and restore the file "
    "from backup."
)


def encrypt_stream(key: DataKey | bytes, ctx: FieldContext, src: BinaryIO, dst: BinaryIO,
                   chunk_size: int = DEFAULT_CHUNK) -> int:
    """Encrypt ``src`` to ``dst`` chunk by chunk; returns the bytes written to ``dst``."""
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise InvalidInput(f"Stream chunk size must be {MIN_CHUNK} to {MAX_CHUNK} bytes.")
    key_id = _key_id(key)
    salt = os.urandom(_SALT)
    prefix = os.urandom(_PREFIX)
    header = b"".join((bytes([STREAM_FORMAT]), key_id.bytes, salt, prefix,
                       chunk_size.to_bytes(4, "big")))
    aead = AESGCM(_stream_key(key, key_id, ctx, salt))
    dst.write(header)
    written = len(header)
    current = _read_full(src, chunk_size)
    for counter in range(_MAX_CHUNKS):
        following = _read_full(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        sealed = aead.encrypt(_nonce(prefix, counter, last), current, header)
        dst.write(sealed)
        written += len(sealed)
        if last:
            return written
        current = following
    raise InvalidInput("The stream is too large to encrypt in one piece; split it.")


def decrypt_stream(key: DataKey | bytes, ctx: FieldContext, src: BinaryIO, dst: BinaryIO) -> int:
    """Decrypt and verify ``src`` to ``dst``; returns the plaintext bytes written."""
    header = _read_full(src, HEADER_SIZE)
    if len(header) < HEADER_SIZE or header[0] != STREAM_FORMAT:
        raise IntegrityFailure(_MALFORMED)
    key_id = _key_id(key)
    if header[1:17] != key_id.bytes:
        raise IntegrityFailure(
            "An encrypted stream names a different key than the one used to open it; look "
            "the key up with stream_key_id() first."
        )
    salt = header[17:17 + _SALT]
    prefix = header[17 + _SALT:17 + _SALT + _PREFIX]
    chunk_size = int.from_bytes(header[-4:], "big")
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise IntegrityFailure(_MALFORMED)
    aead = AESGCM(_stream_key(key, key_id, ctx, salt))
    sealed_size = chunk_size + _TAG
    written = 0
    current = _read_full(src, sealed_size)
    for counter in range(_MAX_CHUNKS):
        following = _read_full(src, sealed_size) if len(current) == sealed_size else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), current, header)
        except InvalidTag:
            raise IntegrityFailure(_TAMPERED) from None
        dst.write(plain)
        written += len(plain)
        if last:
            return written
        current = following
    raise IntegrityFailure(_TAMPERED)


def stream_key_id(header: bytes) -> uuid.UUID:
    """The data key an encrypted stream names, from its first ``HEADER_SIZE`` bytes."""
    if len(header) < HEADER_SIZE or header[0] != STREAM_FORMAT:
        raise IntegrityFailure(_MALFORMED)
    return uuid.UUID(bytes=bytes(header[1:17]))


def encrypted_size(plaintext_size: int, chunk_size: int = DEFAULT_CHUNK) -> int:
    """The exact size of the encrypted stream, e.g. for a Content-Length."""
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_SIZE + plaintext_size + chunks * _TAG


def _key_id(key: DataKey | bytes) -> uuid.UUID:
    return key.key_id if isinstance(key, DataKey) else RAW_KEY_ID


def _stream_key(key: DataKey | bytes, key_id: uuid.UUID, ctx: FieldContext,
                salt: bytes) -> bytes:
    info = _INFO + encode_aad(ctx, key_id)
    if isinstance(key, DataKey):
        return key.derive(salt, info)
    if len(key) != KEY_BYTES:
        raise InvalidInput("A stream key must be 32 bytes.")
    return HKDF(hashes.SHA256(), KEY_BYTES, salt, info).derive(bytes(key))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, short only at end of stream (raw files may return less)."""
    data = src.read(size)
    if data is None:
        raise InvalidInput("The source stream is non-blocking; give a blocking file.")
    if len(data) == size or not data:
        return bytes(data)
    parts = [data]
    have = len(data)
    while have < size:
        more = src.read(size - have)
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)
