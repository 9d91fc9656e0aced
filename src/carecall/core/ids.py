"""Application-generated identifiers.

Row ids are made by carecall, not the database, because the encryption's associated data
binds each ciphertext to its row id before the row is inserted. UUIDv7 keeps them roughly
time-ordered, which keeps B-tree inserts local.
"""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def parse_id(text: str, what: str = "id") -> uuid.UUID:
    """Parse a user-supplied id; a malformed one is the same as an unknown one."""
    from carecall.core.errors import NotFound

    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"No {what} with that id.") from None
