"""Keyed, truncated blind indexes: find a patient by phone or date of birth without storing
either in a form that can be searched offline.

The index of a value is HMAC-SHA256 under a per-tenant, per-column key, truncated to ``bits``
bits. Truncation is the point: with ``N`` patients and ``b`` bits, each index value is shared
by about ``N / 2**b`` patients, so a stolen table plus a guessed phone number narrows to a
crowd, not a person; the service decrypts the few candidates and compares in memory.

    bits = max(8, ceil(log2(N)) - 2)   =>   N / 2**bits is between 2 and 4 at population N

(e.g. N = 100,000 gives 15 bits: 32,768 values, about 3 patients each). The floor of 8 bits
keeps look-ups in a small practice from degenerating into a scan. Values must be normalised
by the caller (E.164 phones, ISO dates) before indexing, or equal values will not match.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INDEX_KEY_LABEL = b"carecall/blind-index/v1"
MIN_BITS = 8
#: Index values fit a signed 64-bit column (PostgreSQL BIGINT).
MAX_BITS = 63


def index_bits(population: int) -> int:
    """Truncation for an expected population: about four rows share each index value."""
    return min(MAX_BITS, max(MIN_BITS, math.ceil(math.log2(max(2, population))) - 2))


def derive_index_key(tenant_key: bytes, tenant_id: uuid.UUID, column: str) -> bytes:
    """The column's index key (HKDF-SHA256, RFC 5869): one per tenant key version and
    column, so equal phone numbers in two columns or two tenants index differently."""
    name = column.encode("utf-8")
    info = INDEX_KEY_LABEL + len(name).to_bytes(4, "big") + name
    return HKDF(hashes.SHA256(), 32, tenant_id.bytes, info).derive(tenant_key)


def blind_index(index_key: bytes, normalised_value: str | bytes, bits: int) -> int:
    """The top ``bits`` bits of HMAC-SHA256(index_key, value), as a non-negative int."""
    if not 1 <= bits <= MAX_BITS:
        raise ValueError("blind index bits must be between 1 and 63")
    data = (normalised_value.encode("utf-8") if isinstance(normalised_value, str)
            else normalised_value)
    digest = hmac.new(index_key, data, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits)
