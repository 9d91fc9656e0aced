"""A local stand-in for Twilio's REST API, close enough for the twilio SDK to talk to.

A real HTTP server (threaded, 127.0.0.1, a random port). Point carecall at it with
``Settings(twilio_api_base=fake.base_url, twilio_account_sid=fake.account_sid,
twilio_auth_token=fake.auth_token)``. Every request is recorded (``fake.requests``) so tests
can assert what carecall asked Twilio to do.

Speaks (under ``/2010-04-01/Accounts/{AccountSid}/``, HTTP Basic auth required everywhere):

* ``Calls.json``: POST create (To, From, Url or Twiml, StatusCallback, StatusCallbackEvent,
  MachineDetection...), GET list filtered by To, From, Status, StartTime, StartTime<,
  StartTime> (dates or ISO datetimes);
* ``Calls/{sid}.json``: GET fetch, POST update (Status, Url, Twiml);
* ``Calls/{sid}/Recordings.json``: POST create; ``Calls/{sid}/Recordings/{sid}.json``: POST
  update (Status paused|stopped|in-progress);
* ``Recordings/{sid}``, ``.wav``: GET the audio (WAV); ``.json``: GET metadata, DELETE;
* ``Messages.json``: POST create (To, From or MessagingServiceSid, Body, StatusCallback),
  GET list filtered by To, From, DateSent, DateSent<, DateSent>;
* ``Messages/{sid}.json``: GET fetch.

Test helpers drive the other direction: ``add_recording`` stores audio for a call,
``set_call`` changes a call's status or answered-by, ``deliver`` posts a webhook signed with the
SDK's validator to a URL the application gave Twilio (a status callback, say), and
``fail_next`` makes the next matching request fail with a chosen status.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import struct
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

API = "/2010-04-01/Accounts/"


@dataclass(frozen=True)
class Recorded:
    """One request the fake was asked."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    authorized: bool
    status: int

    def param(self, name: str) -> str | None:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    status: str
    direction: str
    created: datetime
    params: dict[str, list[str]]
    answered_by: str | None = None
    end_time: datetime | None = None

    def resource(self, account: str) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "status": self.status,
            "direction": self.direction,
            "answered_by": self.answered_by,
            "date_created": format_datetime(self.created, usegmt=True),
            "date_updated": format_datetime(self.created, usegmt=True),
            "start_time": format_datetime(self.created, usegmt=True),
            "end_time": format_datetime(self.end_time, usegmt=True) if self.end_time else None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "parent_call_sid": None,
            "uri": f"{API}{account}/Calls/{self.sid}.json",
            "subresource_uris": {},
        }


@dataclass
class FakeRecording:
    sid: str
    call_sid: str
    audio: bytes
    status: str = "completed"
    deleted: bool = False
    params: dict[str, list[str]] = field(default_factory=dict)

    def resource(self, account: str) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": self.sid,
            "account_sid": account,
            "call_sid": self.call_sid,
            "status": self.status,
            "channels": 1,
            "source": "StartCallRecording",
            "duration": "-1" if self.status != "completed" else "1",
            "date_created": now,
            "date_updated": now,
            "start_time": now,
            "api_version": "2010-04-01",
            "uri": f"{API}{account}/Recordings/{self.sid}.json",
        }


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    created: datetime
    params: dict[str, list[str]]
    status: str = "queued"

    def resource(self, account: str) -> dict[str, Any]:
        stamp = format_datetime(self.created, usegmt=True)
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp,
            "api_version": "2010-04-01",
            "messaging_service_sid": (self.params.get("MessagingServiceSid") or [None])[0],
            "uri": f"{API}{account}/Messages/{self.sid}.json",
            "subresource_uris": {},
        }


def make_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A 16-bit PCM mono WAV with a recognisable non-silent pattern."""
    frames = int(seconds * rate)
    samples = b"".join(struct.pack("<h", ((i * 37) % 2000) - 1000) for i in range(frames))
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(samples)) + samples


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _parse_when(value: str) -> datetime:
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _time_filter(query: Mapping[str, list[str]], name: str) -> Callable[[datetime], bool]:
    checks: list[Callable[[datetime], bool]] = []
    if name in query:
        raw = query[name][0]
        at = _parse_when(raw)
        if len(raw) == 10:
            checks.append(lambda t: t.date() == at.date())
        else:
            checks.append(lambda t: t == at)
    if name + ">" in query:
        after = _parse_when(query[name + ">"][0])
        checks.append(lambda t: t >= after)
    if name + "<" in query:
        before = _parse_when(query[name + "<"][0])
        checks.append(lambda t: t <= before)
    return lambda t: all(c(t) for c in checks)


class FakeTwilio:
    """The server and its state; thread-safe; use as a context manager or start/stop."""

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None) -> None:
        self.account_sid = account_sid or _sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.requests: list[Recorded] = []
        self.calls: dict[str, FakeCall] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.messages: dict[str, FakeMessage] = {}
        self.lock = threading.RLock()
        self._failures: list[tuple[str, re.Pattern[str], int]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------------------

    def settings_overrides(self) -> dict[str, str]:
        return {
            "twilio_api_base": self.base_url,
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
        }

    def requests_to(self, method: str, path_pattern: str) -> list[Recorded]:
        pattern = re.compile(path_pattern)
        with self.lock:
            return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def fail_next(self, method: str, path_pattern: str, status: int = 500) -> None:
        """The next request matching ``method`` and ``path_pattern`` gets ``status``."""
        with self.lock:
            self._failures.append((method, re.compile(path_pattern), status))

    def add_call(self, to: str, from_: str, *, status: str = "in-progress",
                 direction: str = "inbound", created: datetime | None = None,
                 sid: str | None = None) -> FakeCall:
        call = FakeCall(sid or _sid("CA"), to, from_, status, direction,
                        created or datetime.now(UTC).replace(microsecond=0), {})
        with self.lock:
            self.calls[call.sid] = call
        return call

    def set_call(self, sid: str, *, status: str | None = None,
                 answered_by: str | None = None) -> FakeCall:
        with self.lock:
            call = self.calls[sid]
            if status is not None:
                call.status = status
            if answered_by is not None:
                call.answered_by = answered_by
            return call

    def add_recording(self, call_sid: str, audio: bytes | None = None) -> FakeRecording:
        rec = FakeRecording(_sid("RE"), call_sid, audio if audio is not None else make_wav())
        with self.lock:
            self.recordings[rec.sid] = rec
        return rec

    def recording_url(self, sid: str) -> str:
        """The RecordingUrl Twilio would put in a callback (on api.twilio.com, no extension)."""
        return f"https://api.twilio.com{API}{self.account_sid}/Recordings/{sid}"

    def sign(self, url: str, params: Mapping[str, str], token: str | None = None) -> str:
        validator = RequestValidator(token or self.auth_token)
        return str(validator.compute_signature(url, dict(params)))

    def deliver(self, url: str, params: Mapping[str, str], *, send_to: str | None = None,
                timeout: float = 10.0, token: str | None = None) -> tuple[int, str]:
        """POST a signed webhook as Twilio would: signed over ``url`` (the public URL),
        sent to ``send_to`` (where the server actually listens) or ``url``. ``token``
        signs with another secret (a forgery)."""
        body = urlencode(params).encode()
        request = urllib.request.Request(
            send_to or url, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": self.sign(url, params, token)})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    # -- the protocol -----------------------------------------------------------------------

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token)

    def _injected_failure(self, method: str, path: str) -> int | None:
        with self.lock:
            for i, (m, pattern, status) in enumerate(self._failures):
                if m == method and pattern.search(path):
                    del self._failures[i]
                    return status
        return None

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               form: dict[str, list[str]], auth: str | None) -> tuple[int, str, bytes]:
        """Returns (status, content type, body); records the request."""
        authorized = self._authorized(auth)
        status, ctype, body = self._route(method, path, query, form, authorized)
        with self.lock:
            self.requests.append(Recorded(method, path, query, form, authorized, status))
        return status, ctype, body

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               form: dict[str, list[str]], authorized: bool) -> tuple[int, str, bytes]:
        if not authorized:
            return _error(401, 20003, "Authenticate")
        failure = self._injected_failure(method, path)
        if failure is not None:
            return _error(failure, 20500, "Injected failure")
        prefix = f"{API}{self.account_sid}/"
        if not path.startswith(prefix):
            return _error(404, 20404, "The requested resource was not found")
        rest = path[len(prefix):]
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, rest)
            if match and handler[0] == method:
                with self.lock:
                    return handler[1](match, query, form)
        return _error(404, 20404, "The requested resource was not found")

    def _routes(self) -> list[tuple[str, tuple[str, Any]]]:
        return [
            (r"Calls\.json", ("POST", self._create_call)),
            (r"Calls\.json", ("GET", self._list_calls)),
            (r"Calls/(CA\w+)\.json", ("GET", self._fetch_call)),
            (r"Calls/(CA\w+)\.json", ("POST", self._update_call)),
            (r"Calls/(CA\w+)/Recordings\.json", ("POST", self._create_recording)),
            (r"Calls/(CA\w+)/Recordings/(RE\w+|Twilio\.CURRENT)\.json",
             ("POST", self._update_recording)),
            (r"Recordings/(RE\w+)(\.wav)?", ("GET", self._recording_media)),
            (r"Recordings/(RE\w+)\.json", ("GET", self._recording_meta)),
            (r"Recordings/(RE\w+)\.json", ("DELETE", self._delete_recording)),
            (r"Messages\.json", ("POST", self._create_message)),
            (r"Messages\.json", ("GET", self._list_messages)),
            (r"Messages/(SM\w+)\.json", ("GET", self._fetch_message)),
        ]

    def _json(self, status: int, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        return status, "application/json", json.dumps(payload).encode()

    def _create_call(self, _: re.Match[str], __: Any,
                     form: dict[str, list[str]]) -> tuple[int, str, bytes]:
        to, from_ = (form.get("To") or [""])[0], (form.get("From") or [""])[0]
        if not to or not from_ or not (form.get("Url") or form.get("Twiml")
                                       or form.get("ApplicationSid")):
            return _error(400, 21201, "To, From and Url (or Twiml) are required")
        call = FakeCall(_sid("CA"), to, from_, "queued", "outbound-api",
                        datetime.now(UTC).replace(microsecond=0), form)
        self.calls[call.sid] = call
        return self._json(201, call.resource(self.account_sid))

    def _list_calls(self, _: re.Match[str], query: dict[str, list[str]],
                    __: Any) -> tuple[int, str, bytes]:
        when = _time_filter(query, "StartTime")
        calls = [
            c for c in self.calls.values()
            if ("To" not in query or c.to == query["To"][0])
            and ("From" not in query or c.from_ == query["From"][0])
            and ("Status" not in query or c.status == query["Status"][0])
            and when(c.created)
        ]
        calls.sort(key=lambda c: c.created, reverse=True)
        return self._page("calls", [c.resource(self.account_sid) for c in calls], query)

    def _page(self, key: str, items: list[dict[str, Any]],
              query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        size = int((query.get("PageSize") or ["50"])[0])
        return self._json(200, {
            key: items[:size], "page": 0, "page_size": size, "start": 0,
            "end": max(0, min(size, len(items)) - 1), "next_page_uri": None,
            "previous_page_uri": None, "first_page_uri": None, "uri": "",
        })

    def _fetch_call(self, match: re.Match[str], *_: Any) -> tuple[int, str, bytes]:
        call = self.calls.get(match[1])
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        return self._json(200, call.resource(self.account_sid))

    def _update_call(self, match: re.Match[str], _: Any,
                     form: dict[str, list[str]]) -> tuple[int, str, bytes]:
        call = self.calls.get(match[1])
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        status = (form.get("Status") or [None])[0]
        if status in ("completed", "canceled"):
            call.status = status
            call.end_time = datetime.now(UTC).replace(microsecond=0)
        for name, values in form.items():
            call.params[name] = values
        return self._json(200, call.resource(self.account_sid))

    def _create_recording(self, match: re.Match[str], _: Any,
                          form: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if match[1] not in self.calls:
            return _error(404, 20404, "The requested resource was not found")
        rec = FakeRecording(_sid("RE"), match[1], make_wav(), status="in-progress",
                            params=form)
        self.recordings[rec.sid] = rec
        return self._json(201, rec.resource(self.account_sid))

    def _update_recording(self, match: re.Match[str], _: Any,
                          form: dict[str, list[str]]) -> tuple[int, str, bytes]:
        wanted = (form.get("Status") or [""])[0]
        if wanted not in ("paused", "stopped", "in-progress"):
            return _error(400, 21220, "Status must be paused, stopped or in-progress")
        live = [r for r in self.recordings.values()
                if r.call_sid == match[1] and not r.deleted
                and (match[2] == "Twilio.CURRENT" or r.sid == match[2])]
        if not live:
            return _error(404, 20404, "The requested resource was not found")
        rec = live[-1]
        rec.status = "completed" if wanted == "stopped" else wanted
        return self._json(200, rec.resource(self.account_sid))

    def _recording_media(self, match: re.Match[str], *_: Any) -> tuple[int, str, bytes]:
        rec = self.recordings.get(match[1])
        if rec is None or rec.deleted:
            return _error(404, 20404, "The requested resource was not found")
        return 200, "audio/x-wav", rec.audio

    def _recording_meta(self, match: re.Match[str], *_: Any) -> tuple[int, str, bytes]:
        rec = self.recordings.get(match[1])
        if rec is None or rec.deleted:
            return _error(404, 20404, "The requested resource was not found")
        return self._json(200, rec.resource(self.account_sid))

    def _delete_recording(self, match: re.Match[str], *_: Any) -> tuple[int, str, bytes]:
        rec = self.recordings.get(match[1])
        if rec is None or rec.deleted:
            return _error(404, 20404, "The requested resource was not found")
        rec.deleted = True
        return 204, "application/json", b""

    def _create_message(self, _: re.Match[str], __: Any,
                        form: dict[str, list[str]]) -> tuple[int, str, bytes]:
        to = (form.get("To") or [""])[0]
        from_ = (form.get("From") or form.get("MessagingServiceSid") or [""])[0]
        body = (form.get("Body") or [""])[0]
        if not to or not from_ or not body:
            return _error(400, 21602, "To, From (or MessagingServiceSid) and Body are required")
        msg = FakeMessage(_sid("SM"), to, from_, body,
                          datetime.now(UTC).replace(microsecond=0), form)
        self.messages[msg.sid] = msg
        return self._json(201, msg.resource(self.account_sid))

    def _list_messages(self, _: re.Match[str], query: dict[str, list[str]],
                       __: Any) -> tuple[int, str, bytes]:
        when = _time_filter(query, "DateSent")
        found = [
            m for m in self.messages.values()
            if ("To" not in query or m.to == query["To"][0])
            and ("From" not in query or m.from_ == query["From"][0])
            and when(m.created)
        ]
        found.sort(key=lambda m: m.created, reverse=True)
        return self._page("messages", [m.resource(self.account_sid) for m in found], query)

    def _fetch_message(self, match: re.Match[str], *_: Any) -> tuple[int, str, bytes]:
        msg = self.messages.get(match[1])
        if msg is None:
            return _error(404, 20404, "The requested resource was not found")
        return self._json(200, msg.resource(self.account_sid))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:  # keep test output clean
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = parse_qs(raw.decode(), keep_blank_values=True) if raw else {}
                query = parse_qs(parts.query, keep_blank_values=True)
                status, ctype, body = fake.handle(self.command, parts.path, query, form,
                                                  self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
                self.end_headers()
                if body:
                    self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's naming

        return Handler


def _error(status: int, code: int, message: str) -> tuple[int, str, bytes]:
    payload = {"code": code, "message": message, "more_info": "", "status": status}
    return status, "application/json", json.dumps(payload).encode()


__all__ = ["FakeTwilio", "Recorded", "make_wav"]
