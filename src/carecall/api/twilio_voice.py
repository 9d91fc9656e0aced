"""Twilio Voice webhooks: signature-checked form posts in, TwiML out.

Every route depends on ``twilio_request`` (403 ``BAD_SIGNATURE``, audited, when the
signature is missing or wrong) and hands the parameters to ``channels.voice``. A failure
inside carecall answers with an apology in TwiML rather than an error page, so the caller
hears something sensible; nothing about the caller is logged.

Each response carries ``Server-Timing: app;dur=<ms>, engine;dur=<ms>``: the time from the
request reaching the route (before the body is read and the signature checked) to the
response being ready, and the part of it spent in the conversation engine.

The synchronous work of a webhook (database, engine, TwiML) runs in worker threads, at most
``WEBHOOK_THREADS`` at a time per process (``_run``); the other requests wait, queued,
inside the route. Unbounded, 40 threads doing database round trips contend for the GIL
with the event loop, which then parses and answers requests late: under load on
PostgreSQL, requests waited hundreds of milliseconds before reaching the route at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.routing import APIRoute

from carecall.api.deps import AppDep
from carecall.app import Carecall
from carecall.channels import recordings, twiml, voice
from carecall.channels.signature import TwilioRequest, TwilioRequestDep
from carecall.core.errors import CarecallError

log = logging.getLogger(__name__)
TWIML = "text/xml"
#: Webhooks doing synchronous work at once, per process (see the module's docstring).
WEBHOOK_THREADS = 4
_T = TypeVar("_T")
_limiters: dict[int, anyio.CapacityLimiter] = {}


async def _run(work: Callable[[], _T]) -> _T:
    """``work`` in a worker thread, at most ``WEBHOOK_THREADS`` of them per event loop."""
    import asyncio

    key = id(asyncio.get_running_loop())
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = anyio.CapacityLimiter(WEBHOOK_THREADS)
    return await anyio.to_thread.run_sync(work, limiter=limiter)


class TimedRoute(APIRoute):
    """Adds the server-side handling time as a ``Server-Timing`` header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            started = time.perf_counter()
            response = await handler(request)
            elapsed = (time.perf_counter() - started) * 1000
            timing = f"app;dur={elapsed:.2f}"
            engine = response.headers.get("Server-Timing")
            response.headers["Server-Timing"] = f"{timing}, {engine}" if engine else timing
            return response

        return timed


router = APIRouter(prefix=voice.PREFIX, tags=["twilio"], route_class=TimedRoute,
                   include_in_schema=False)


def _twiml(body: str) -> Response:
    headers = {"Cache-Control": "no-store",
               "Server-Timing": f"engine;dur={voice.engine_time.ms:.2f}"}
    return Response(content=body, media_type=TWIML, headers=headers)


def _safely(work: Callable[[], str]) -> Response:
    """Runs in the worker thread; ``engine_time`` counts this request's engine calls."""
    voice.engine_time.ms = 0.0
    try:
        return _twiml(work())
    except CarecallError as exc:
        log.warning("voice webhook failed: %s", exc.code)
    except Exception as exc:  # the caller must hear an apology, not silence
        log.error("voice webhook failed: %s", type(exc).__name__)  # noqa: TRY400 - no traceback: it could carry patient data
    return _twiml(twiml.goodbye(twiml.TECHNICAL_TROUBLE))


@router.post("/inbound", summary="Twilio: a call to a practice's number")
async def inbound(app: AppDep, hook: TwilioRequestDep) -> Response:
    return await _run(lambda: _safely(lambda: voice.inbound(
        app, call_sid=hook.get("CallSid"), from_number=hook.get("From"),
        to_number=hook.get("To"))))


@router.post("/answer", summary="Twilio: an outbound call was answered")
async def answer(app: AppDep, hook: TwilioRequestDep, request: Request) -> Response:
    return await _run(lambda: _safely(lambda: voice.answered(
        app, leg_id=request.query_params.get("leg", ""), call_sid=hook.get("CallSid"),
        answered_by=hook.get("AnsweredBy"), from_number=hook.get("From"),
        to_number=hook.get("To"))))


@router.post("/gather", summary="Twilio: the caller's answer to one turn")
async def gather(app: AppDep, hook: TwilioRequestDep, request: Request) -> Response:
    given = voice.caller_input(hook.get("SpeechResult"), hook.get("Confidence"),
                               hook.get("Digits"))
    return await _run(lambda: _safely(lambda: voice.gather(
        app, call_sid=hook.get("CallSid"), turn=request.query_params.get("t", ""),
        given=given)))


def _status(app: Carecall, hook: TwilioRequest) -> Response:
    try:
        voice.status(app, call_sid=hook.get("CallSid"), call_status=hook.get("CallStatus"),
                     answered_by=hook.get("AnsweredBy"))
    except CarecallError as exc:
        log.warning("call status callback failed: %s", exc.code)
        return Response(status_code=503)
    return Response(status_code=204)


@router.post("/status", status_code=204, summary="Twilio: call status callback")
async def status(app: AppDep, hook: TwilioRequestDep) -> Response:
    return await _run(lambda: _status(app, hook))


@router.post("/recording", status_code=204, summary="Twilio: recording status callback")
def recording(app: AppDep, hook: TwilioRequestDep, tasks: BackgroundTasks) -> Response:
    if hook.get("RecordingStatus") != "completed":
        return Response(status_code=204)
    duration = hook.get("RecordingDuration")
    try:
        rec = recordings.register(
            app, call_sid=hook.get("CallSid"), recording_sid=hook.get("RecordingSid"),
            duration_s=int(duration) if duration.isdigit() else None,
            subject_id=voice.recording_subject(app, hook.get("CallSid")))
    except CarecallError as exc:
        log.warning("recording callback refused: %s", exc.code)
        return Response(status_code=400)
    if rec is not None and rec.state == "pending":
        tasks.add_task(_ingest_quietly, app, rec.id)
    return Response(status_code=204)


def _ingest_quietly(app: Carecall, recording_id: object) -> None:
    """Runs after the reply: Twilio's callback never waits for the download."""
    import uuid

    try:
        recordings.ingest(app, uuid.UUID(str(recording_id)))
    except CarecallError as exc:  # left pending: ``recordings.sweep`` retries it
        log.warning("recording ingest deferred: %s", exc.code)
