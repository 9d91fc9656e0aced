"""The error body every endpoint answers with, and the responses OpenAPI documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. AUTH_REQUIRED.")
    message: str = Field(description="One line for a person; never contains PHI.")


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated: AUTH_REQUIRED, AUTH_FAILED, SESSION_EXPIRED or MFA_REQUIRED",
    403: "Refused: PERMISSION_DENIED, MINIMUM_NECESSARY, TRAINING_EXPIRED, CSRF_FAILED, or a "
    "BAA refusal (NO_ACTIVE_BAA, PURPOSE_NOT_PERMITTED)",
    404: "NOT_FOUND: no such resource, or not yours (the two look the same)",
    409: "CONFLICT",
    410: "DATA_SHREDDED",
    413: "PAYLOAD_TOO_LARGE",
    422: "INVALID_INPUT: malformed request",
    429: "RATE_LIMITED (see Retry-After)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


#: What every authenticated endpoint can answer besides success.
AUTHED = (401, 403, 404, 422, 429)
