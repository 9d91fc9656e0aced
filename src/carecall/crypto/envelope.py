"""Field encryption: AES-256-GCM under a per-subject data key, bound to where the value lives.

Each encrypted field is ``format version (1) || key id (16) || nonce (12) || ciphertext+tag``.
The associated data binds the ciphertext to its tenant, table, column, row and key, so a value
copied into another row, column or tenant fails authentication instead of decrypting into the
wrong record (HIPAA Security Rule integrity standard, 45 CFR 164.312(c)(1), and encryption at
rest as an addressable safeguard, 45 CFR 164.312(a)(2)(iv)).

Nonces are 96 random bits per value. NIST SP 800-38D section 8.3 caps random-nonce use at
2^32 messages per key; a data key belongs to one patient, whose record is re-encrypted far
fewer times than that.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carecall.core.errors import IntegrityFailure

FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER_BYTES = 1 + 16
_MIN_BLOB = _HEADER_BYTES + NONCE_BYTES + TAG_BYTES

_MALFORMED = (
    "An encrypted value is malformed or in an unknown format; restore the record from "
    "backup and report a possible security incident."
)
_TAMPERED = (
    "An encrypted value failed its integrity check (altered, or moved from another record); "
    "restore the record from backup and report a possible security incident."
)
_WRONG_KEY = (
    "An encrypted value names a different key than the one used to open it; look the key up "
    "with blob_key_id() and report a possible security incident if it belongs elsewhere."
)

# Every AAD field is a 4-byte big-endian length then the bytes; fixed-size fields carry
# their length too, so the encoding stays injective even if a field's size ever changes.
_LEN16 = (16).to_bytes(4, "big")
_VERSION_BYTE = bytes([FORMAT_VERSION])
_AAD_HEAD = (1).to_bytes(4, "big") + _VERSION_BYTE + _LEN16


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Where an encrypted value lives; all four are bound into its associated data."""

    tenant_id: uuid.UUID
    table: str
    column: str
    row_id: uuid.UUID


def encode_aad(ctx: FieldContext, key_id: uuid.UUID) -> bytes:
    """Length-prefixed format version, tenant id, table, column, row id and key id."""
    table = ctx.table.encode("utf-8")
    column = ctx.column.encode("utf-8")
    return b"".join((
        _AAD_HEAD, ctx.tenant_id.bytes,
        len(table).to_bytes(4, "big"), table,
        len(column).to_bytes(4, "big"), column,
        _LEN16, ctx.row_id.bytes,
        _LEN16, key_id.bytes,
    ))


def blob_key_id(blob: bytes) -> uuid.UUID:
    """The data key an encrypted field names, so the reader can fetch that exact key."""
    if len(blob) < _MIN_BLOB or blob[0] != FORMAT_VERSION:
        raise IntegrityFailure(_MALFORMED)
    return uuid.UUID(bytes=bytes(blob[1:_HEADER_BYTES]))


class DataKey:
    """An unwrapped per-subject data key, ready to seal and open that subject's fields.

    The AES-GCM object is built once per key: building it is a good share of the cost of a
    small field, and the keyring caches ``DataKey`` objects.
    """

    __slots__ = ("_aead", "_kid", "_material", "key_id")

    def __init__(self, key_id: uuid.UUID, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self.key_id = key_id
        self._material = bytes(material)
        self._kid = key_id.bytes
        self._aead = AESGCM(self._material)

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id})"

    def seal(self, plaintext: bytes, ctx: FieldContext) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, encode_aad(ctx, self.key_id))
        return b"".join((_VERSION_BYTE, self._kid, nonce, sealed))

    def open(self, blob: bytes, ctx: FieldContext) -> bytes:
        """The plaintext, or ``IntegrityFailure`` if the blob was altered or moved."""
        if len(blob) < _MIN_BLOB or blob[0] != FORMAT_VERSION:
            raise IntegrityFailure(_MALFORMED)
        if blob[1:_HEADER_BYTES] != self._kid:
            raise IntegrityFailure(_WRONG_KEY)
        try:
            return self._aead.decrypt(
                blob[_HEADER_BYTES:_HEADER_BYTES + NONCE_BYTES],
                blob[_HEADER_BYTES + NONCE_BYTES:],
                encode_aad(ctx, self.key_id),
            )
        except InvalidTag:
            raise IntegrityFailure(_TAMPERED) from None

    def seal_text(self, text: str | None, ctx: FieldContext) -> bytes | None:
        """Optional text fields stay NULL; the presence of a value is not secret."""
        if text is None:
            return None
        return self.seal(text.encode("utf-8"), ctx)

    def open_text(self, blob: bytes | None, ctx: FieldContext) -> str | None:
        if blob is None:
            return None
        try:
            return self.open(blob, ctx).decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityFailure(_MALFORMED) from None

    def derive(self, salt: bytes, info: bytes) -> bytes:
        """A 256-bit sub-key (HKDF-SHA256, RFC 5869), e.g. a per-stream key for recordings."""
        return HKDF(hashes.SHA256(), KEY_BYTES, salt, info).derive(self._material)
