"""One error tree for carecall.

Every error a user can meet is a ``CarecallError`` with a stable machine-readable ``code``, a
safe one-line ``message`` that says what to do (never PHI: messages are logged and returned),
and the HTTP status the API answers with. The API turns them into JSON, the CLI into a
one-line message and a non-zero exit; third-party exceptions are translated at the adapter
that meets them.
"""

from __future__ import annotations

from typing import ClassVar


class CarecallError(Exception):
    """Base of every error carecall reports to a person or a program."""

    code: ClassVar[str] = "ERROR"
    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]

    def __str__(self) -> str:
        return self.message


class InvalidInput(CarecallError):
    """The request or file is malformed; nothing was changed."""

    code = "INVALID_INPUT"
    http_status = 422
    exit_code = 2


class NotFound(CarecallError):
    """The resource does not exist or is not the caller's: the two look the same on purpose."""

    code = "NOT_FOUND"
    http_status = 404


class Conflict(CarecallError):
    code = "CONFLICT"
    http_status = 409


class PermissionDenied(CarecallError):
    code = "PERMISSION_DENIED"
    http_status = 403


class PolicyRefused(CarecallError):
    """A rule refused the operation; ``reasons`` are the rule's reason codes."""

    code = "POLICY_REFUSED"
    http_status = 403

    def __init__(self, message: str, *, reasons: tuple[str, ...]) -> None:
        super().__init__(message, code=reasons[0] if reasons else None)
        self.reasons = reasons


class ConfigError(CarecallError):
    code = "CONFIG_ERROR"
    http_status = 500
    exit_code = 3


class KeyUnavailable(CarecallError):
    """A key file or KMS could not be read; PHI cannot be decrypted or encrypted."""

    code = "KEY_UNAVAILABLE"
    http_status = 503
    exit_code = 3


class DataShredded(CarecallError):
    """The key that protected this data was destroyed on purpose: the data is gone for good."""

    code = "DATA_SHREDDED"
    http_status = 410


class IntegrityFailure(CarecallError):
    """A ciphertext, log entry or signature does not verify: something was tampered with."""

    code = "INTEGRITY_FAILURE"
    http_status = 500
    exit_code = 4


class StoreUnavailable(CarecallError):
    code = "STORE_UNAVAILABLE"
    http_status = 503
    exit_code = 3
