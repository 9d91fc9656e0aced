"""The campaign's view of the telephony provider: place, find, look up.

Calls go through ``channels.voice`` (which owns the call legs and webhooks); texts, lists and
status look-ups through Twilio's REST API (``channels.twilio_rest``). Every failure becomes
``TwilioUnavailable`` (nothing is known to have gone out; the caller reconciles).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from carecall.app import Carecall
from carecall.campaigns.model import Channel
from carecall.channels import voice
from carecall.channels.twilio_rest import TwilioUnavailable, rest_client
from carecall.tenants.model import Tenant


def place_call(app: Carecall, *, tenant: Tenant, to: str, patient_id: uuid.UUID,
               purpose: str, appointment_id: uuid.UUID | None) -> str:
    return voice.place_call(app, tenant=tenant, to=to, patient_id=patient_id,
                            purpose=purpose, appointment_id=appointment_id)


def send_text(app: Carecall, *, tenant: Tenant, to: str, body: str) -> str:
    if not tenant.phone_numbers:
        raise TwilioUnavailable("The practice has no number to text from.")
    from carecall.channels.sms import status_callback

    # Delivery receipts come back through the SMS status webhook (``attempts.on_text_status``).
    callback = status_callback(app)
    message = _call(lambda: rest_client(app.settings).messages.create(
        to=to, from_=tenant.phone_numbers[0], body=body, status_callback=callback or None))
    return str(message.sid)


def find(app: Carecall, *, channel: Channel, to: str, since: datetime) -> list[str]:
    """Sids of contacts Twilio made to ``to`` since ``since`` (newest first)."""
    if channel is Channel.SMS:
        found = _call(lambda: rest_client(app.settings).messages.list(
            to=to, date_sent_after=since, page_size=50))
        return [str(m.sid) for m in found]
    return [c.sid for c in voice.find_calls(app, to=to, since=since)]


def status(app: Carecall, *, channel: Channel, sid: str) -> tuple[str, str | None]:
    """The provider's current status of a call or message (and AnsweredBy for calls)."""
    client = rest_client(app.settings)
    if channel is Channel.SMS:
        message = _call(lambda: client.messages(sid).fetch())
        return str(message.status), None
    call = _call(lambda: client.calls(sid).fetch())
    return str(call.status), call.answered_by


def _call(request: Any) -> Any:
    from twilio.base.exceptions import TwilioException

    try:
        return request()
    except (TwilioException, OSError):
        raise TwilioUnavailable("Twilio did not answer; the attempt will be retried.") from None
