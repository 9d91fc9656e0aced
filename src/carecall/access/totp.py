"""TOTP (RFC 6238) as the mandatory second factor, and one-time recovery codes.

A code is accepted for the current 30-second step and one step either side (clock drift);
the last accepted step is stored, so a code, once used, cannot be used again in its window.
"""

from __future__ import annotations

import base64
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno

STEP_SECONDS = 30
DRIFT_STEPS = 1
ISSUER = "carecall"
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (nothing leaves the server)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step within the drift window whose code equals ``code``, else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = step_of(now)
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def fresh(step: int, last_step: int | None) -> bool:
    """RFC 6238 section 5.2: a code is accepted once; later steps only."""
    return last_step is None or step > last_step


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at ``now`` (for the CLI's self-test and for tests)."""
    return pyotp.TOTP(secret).generate_otp(step_of(now))


def new_recovery_codes() -> list[str]:
    """Ten codes of 10 base32 characters (50 bits each), shown once, stored hashed."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return [
        "".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)
    ]


def normalise_recovery(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").upper()
