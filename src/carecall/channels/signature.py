"""Twilio webhook authentication: ``X-Twilio-Signature`` checked with the SDK's own validator.

Twilio signs the exact public URL it requested plus the sorted form parameters with
HMAC-SHA1 under the account's auth token. Behind a proxy the URL the application sees is not
the one Twilio signed, so the URL is rebuilt from ``settings.public_base_url`` + the request
path + the raw query (never from the Host header, which the caller controls). The SDK's
``RequestValidator`` accepts the URL with and without an explicit default port, as Twilio's
own signing is inconsistent about it.

A request that fails is refused with 403 ``BAD_SIGNATURE`` and an audit entry holding the
path, the reason and a hash of the CallSid/MessageSid (never a phone number or a body).

Reusable for every Twilio webhook (voice, SMS): depend on ``twilio_request``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from twilio.request_validator import RequestValidator

from carecall.app import Carecall
from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.core.config import Settings
from carecall.core.errors import CarecallError

SIGNATURE_HEADER = "X-Twilio-Signature"
#: Form bodies Twilio sends are small; anything bigger is not Twilio.
MAX_FORM_BYTES = 64 * 1024


class BadSignature(CarecallError):
    """The request is not provably from Twilio (missing or wrong signature)."""

    code = "BAD_SIGNATURE"
    http_status = 403


class Params(dict[str, list[str]]):
    """Form parameters with repeated names kept, in the shape the SDK validator reads."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str, default: str = "") -> str:
        values = self.get(name)
        return values[0] if values else default

    @classmethod
    def parse(cls, body: bytes) -> Params:
        params = cls()
        text = body.decode("utf-8", errors="strict")
        for name, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
            params.setdefault(name, []).append(value)
        return params


@dataclass(frozen=True)
class TwilioRequest:
    """A webhook that passed the signature check."""

    url: str
    path: str
    params: Params

    def get(self, name: str, default: str = "") -> str:
        return self.params.first(name, default)


def public_url(settings: Settings, path: str, query: str, fallback: str) -> str:
    """The URL Twilio requested: the configured public base, the path, the raw query.

    ``fallback`` (the URL as the server saw it) is used only when no base is configured,
    e.g. a developer's loopback setup.
    """
    base = settings.public_base_url.rstrip("/")
    if not base:
        return fallback
    return base + path + (f"?{query}" if query else "")


def signature_valid(token: str, url: str, params: Params | str, signature: str) -> bool:
    """The SDK's validation (URL with and without port; ``bodySHA256`` for JSON bodies)."""
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def sid_hash(sid: str) -> str:
    """A short, stable, non-reversible reference to a Twilio SID for audit entries."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()[:16] if sid else ""


def reject(app: Carecall, *, path: str, reason: str, sid: str) -> BadSignature:
    """Audit a refused webhook in its own unit of work and return the error to raise."""
    details: dict[str, str | int | bool | list[str]] = {"path": path, "reason": reason}
    if sid:
        details["sid_sha256"] = sid_hash(sid)
    with app.db.transaction() as session:
        append(
            session,
            AuditEvent(
                actor="twilio",
                action="twilio.webhook.rejected",
                resource_type="webhook",
                resource_id=path,
                outcome="denied",
                severity="warning",
                details=details,
            ),
            app.clock,
        )
    return BadSignature(
        "The request's X-Twilio-Signature is missing or does not match; it was refused."
    )


async def twilio_request(request: Request) -> TwilioRequest:
    """FastAPI dependency: the verified webhook, or 403 ``BAD_SIGNATURE`` (audited)."""
    app: Carecall = request.app.state.carecall
    body = await request.body()
    query = request.scope.get("query_string", b"").decode("latin-1")
    path = request.url.path
    url = public_url(app.settings, path, query, str(request.url))
    signature = request.headers.get(SIGNATURE_HEADER, "")
    is_json = request.headers.get("content-type", "").startswith("application/json")
    params = Params()
    try:
        payload: Params | str = body.decode("utf-8") if is_json else Params.parse(body)
    except (UnicodeDecodeError, ValueError):
        raise reject(app, path=path, reason="malformed", sid="") from None
    if len(body) > MAX_FORM_BYTES:
        raise reject(app, path=path, reason="too_large", sid="")
    if isinstance(payload, Params):
        params = payload
    sid = params.first("CallSid") or params.first("MessageSid")
    if not signature:
        raise reject(app, path=path, reason="missing", sid=sid)
    if is_json and "bodySHA256=" not in query:
        raise reject(app, path=path, reason="unsigned_body", sid=sid)
    if not signature_valid(app.settings.twilio_auth_token, url, payload, signature):
        raise reject(app, path=path, reason="mismatch", sid=sid)
    return TwilioRequest(url=url, path=path, params=params)


TwilioRequestDep = Annotated[TwilioRequest, Depends(twilio_request)]
