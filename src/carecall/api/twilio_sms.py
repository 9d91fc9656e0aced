"""Twilio SMS webhooks: inbound texts (opt-out, opt-in, help) and message status callbacks.

Both depend on ``twilio_request`` (403 ``BAD_SIGNATURE``, audited, when the signature is
missing or wrong). The inbound route answers in TwiML with at most one ``<Message>``; a
failure inside carecall answers with empty TwiML (never an error page that Twilio would
retry into a second confirmation) and is logged by error code only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from twilio.twiml.messaging_response import MessagingResponse

from carecall.api.deps import AppDep
from carecall.channels import sms
from carecall.channels.signature import TwilioRequestDep
from carecall.core.errors import CarecallError

log = logging.getLogger(__name__)

router = APIRouter(prefix=sms.PREFIX, tags=["twilio"], include_in_schema=False)


def _twiml(reply: str | None) -> Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(content=str(response), media_type="text/xml",
                    headers={"Cache-Control": "no-store"})


@router.post("/inbound", summary="Twilio: a text to a practice's number")
def inbound(app: AppDep, hook: TwilioRequestDep) -> Response:
    try:
        reply = sms.handle_inbound(
            app, from_number=hook.get("From"), to_number=hook.get("To"),
            body=hook.get("Body"), message_sid=hook.get("MessageSid"),
            twilio_opt_out=hook.get("OptOutType"))
    except CarecallError as exc:
        log.warning("sms webhook failed: %s", exc.code)
        reply = None
    return _twiml(reply)


@router.post("/status", status_code=204, summary="Twilio: a message's delivery status")
def status(app: AppDep, hook: TwilioRequestDep) -> Response:
    sms.handle_status(app, message_sid=hook.get("MessageSid"),
                      status=hook.get("MessageStatus"))
    return Response(status_code=204)
