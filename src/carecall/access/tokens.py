"""Opaque bearer secrets (session tokens, enrolment tokens, API keys): random, shown once,
stored only as a SHA-256 digest. They carry 256 bits of entropy, so a fast hash is enough;
comparisons are constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def matches(token: str, stored: bytes) -> bool:
    return hmac.compare_digest(digest(token), stored)
