"""The Ed25519 key that signs tree heads, and signed-note signers and verifiers.

The private key lives in a 0600 file that is created once and never overwritten: replacing it
would orphan every head an auditor already holds. Its public key is written beside it as
``<path>.pub`` (PEM) so an auditor can take it away and check heads without trusting us.

Signatures follow C2SP signed-note: the key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key), 0x01 being the Ed25519 signature type, and a
signature line is ``— <name> base64(key id || signature)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from carecall.core.errors import KeyUnavailable

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "


def public_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyUnavailable(
            f"The audit signing key at {path} cannot be read ({type(exc).__name__}); "
            "restore it from backup."
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnavailable(f"The audit signing key at {path} is not an Ed25519 key.")
    return key


def load_or_create_signing_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Load the signing key, or create it if there is none; ``True`` when it was created.

    Creation writes a temporary file and hard-links it into place, so two processes starting
    at once end up with the same key and an existing key is never overwritten.
    """
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            created = True
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = _read_private(path)
    pub = public_key_path(path)
    if created or not pub.exists():
        pub.write_bytes(_public_pem(key.public_key()))
    return key, created


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM public key (the ``.pub`` file an auditor keeps)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise KeyUnavailable(
            f"The audit public key at {path} cannot be read ({type(exc).__name__})."
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyUnavailable(f"The audit public key at {path} is not an Ed25519 key.")
    return key


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + _raw_public(public_key)).digest()[
        :4
    ]


def vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """The signed-note verifier key string ``<name>+<hex key id>+<base64(type || key)>``."""
    encoded = base64.b64encode(ED25519_TYPE + _raw_public(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class NoteSigner:
    """Signs note texts as ``name`` (the log's origin)."""

    private_key: Ed25519PrivateKey
    name: str

    def signature_line(self, text: str) -> str:
        sig = self.private_key.sign(text.encode())
        kid = key_id(self.name, self.private_key.public_key())
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(kid + sig).decode()}\n"

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.private_key.public_key(), self.name)


@dataclass(frozen=True)
class NoteVerifier:
    public_key: Ed25519PublicKey
    name: str

    def accepts(self, text: str, signature_line: str) -> bool:
        """Whether one ``— name sig`` line is a valid signature of ``text`` by this key."""
        if not signature_line.startswith(SIGNATURE_PREFIX):
            return False
        parts = signature_line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(parts) != 2 or parts[0] != self.name:
            return False
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            return False
        if len(blob) != 4 + 64 or blob[:4] != key_id(self.name, self.public_key):
            return False
        try:
            self.public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            return False
        return True
