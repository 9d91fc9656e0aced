"""Password hashing (argon2id, RFC 9106) and the password policy.

Verification of an unknown user still runs one hash against a dummy, so response time does
not tell an attacker which usernames exist.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from carecall.access.rules import AuthReason, password_acceptable
from carecall.core.errors import InvalidInput


@cache
def hasher(time_cost: int | None = None, memory_kib: int | None = None) -> PasswordHasher:
    """argon2id with RFC 9106's second recommended profile (t=3, m=64 MiB, p=4) unless
    told otherwise; tests pass smaller costs, still argon2id."""
    params = RFC_9106_LOW_MEMORY
    return PasswordHasher(
        time_cost=time_cost or params.time_cost,
        memory_cost=memory_kib or params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
    )


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("carecall.access").joinpath("data/common-passwords.txt").read_text(
        encoding="utf-8"
    )
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_MESSAGES = {
    AuthReason.PASSWORD_TOO_SHORT: "Choose a password of at least 12 characters.",
    AuthReason.PASSWORD_TOO_LONG: "Choose a password of at most 256 characters.",
    AuthReason.PASSWORD_COMMON: "That password is on the list of common passwords; choose "
    "another (a few unrelated words make a good one).",
}


def check_policy(password: str) -> None:
    decision = password_acceptable(password, common_passwords())
    if not decision:
        first = AuthReason(decision.codes[0])
        raise InvalidInput(_MESSAGES[first], code=first.value)


def hash_secret(ph: PasswordHasher, secret: str) -> str:
    return ph.hash(secret)


def verify_secret(ph: PasswordHasher, stored: str | None, secret: str) -> bool:
    """True when ``secret`` matches; with no stored hash, burns one verification anyway."""
    target = stored if stored is not None else _dummy(ph)
    try:
        ok = ph.verify(target, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


def _dummy(ph: PasswordHasher) -> str:
    return _dummy_for(ph.time_cost, ph.memory_cost)


@cache
def _dummy_for(time_cost: int, memory_kib: int) -> str:
    return hasher(time_cost, memory_kib).hash("carecall-dummy-password-for-timing")
