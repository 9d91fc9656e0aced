"""The self-describing format of a key wrapped by a key-encryption key (KEK).

``format (1) || len(version) (1) || version (ASCII) || provider payload``. The version names
the KEK that wrapped the key, so a reader knows which KEK to ask for and the keyring can tell
which tenant keys still need rewrapping after a KEK rotation.
"""

from __future__ import annotations

from collections.abc import Mapping

from carecall.core.errors import IntegrityFailure

WRAP_FORMAT = 1
MAX_VERSION_BYTES = 255

_MALFORMED = (
    "A wrapped tenant key is malformed; restore the tenant_keys table from backup and report "
    "a possible security incident."
)


def encode_wrapped(version: str, payload: bytes) -> bytes:
    name = version.encode("ascii")
    if not 0 < len(name) <= MAX_VERSION_BYTES:
        raise ValueError("a KEK version is 1 to 255 ASCII characters")
    return bytes([WRAP_FORMAT, len(name)]) + name + payload


def decode_wrapped(blob: bytes) -> tuple[str, bytes]:
    """``(kek version, provider payload)``; ``IntegrityFailure`` if the blob is not one."""
    if len(blob) < 3 or blob[0] != WRAP_FORMAT or len(blob) < 2 + blob[1] + 1 or blob[1] == 0:
        raise IntegrityFailure(_MALFORMED)
    end = 2 + blob[1]
    try:
        version = bytes(blob[2:end]).decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityFailure(_MALFORMED) from None
    return version, bytes(blob[end:])


def wrapped_kek_version(blob: bytes) -> str:
    """The KEK version a wrapped key names."""
    return decode_wrapped(blob)[0]


def encode_context(context: Mapping[str, str]) -> bytes:
    """An injective byte encoding of a wrap context, for use as associated data.

    Sorted by key, each key and value length-prefixed, the way KMS canonicalises its
    encryption context, so the same mapping always gives the same bytes.
    """
    parts = [len(context).to_bytes(4, "big")]
    for key in sorted(context):
        for item in (key.encode("utf-8"), context[key].encode("utf-8")):
            parts.append(len(item).to_bytes(4, "big"))
            parts.append(item)
    return b"".join(parts)
