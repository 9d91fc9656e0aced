"""A simulated Twilio for voice tests: posts signed webhooks to carecall and reads TwiML."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from fastapi.testclient import TestClient
from tests.conftest import NOW
from twilio.request_validator import RequestValidator

from carecall.demo.seed import demo_patients

PRACTICE = "+16175550199"
STAFF = "+16175550111"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def demo_caller(index: int = 0) -> tuple[str, str, str]:
    """(phone, full name, spoken date of birth) of a seeded demo patient."""
    p = demo_patients(NOW)[index]
    dob = f"{MONTHS[p.dob.month - 1]} {p.dob.day}, {p.dob.year}"
    return p.phones[0], f"{p.first_name} {p.last_name}", dob


@dataclass
class Twiml:
    """A parsed TwiML answer."""

    root: ET.Element
    raw: str

    @classmethod
    def parse(cls, text: str) -> Twiml:
        return cls(ET.fromstring(text), text)

    def all(self, tag: str) -> list[ET.Element]:
        return list(self.root.iter(tag))

    @property
    def said(self) -> str:
        return " ".join((e.text or "") for e in self.root.iter("Say"))

    @property
    def gather(self) -> ET.Element | None:
        found = self.all("Gather")
        return found[0] if found else None

    @property
    def next_path(self) -> str:
        gather = self.gather
        assert gather is not None, self.raw
        parts = urlsplit(gather.attrib["action"])
        return parts.path + "?" + parts.query

    @property
    def hangs_up(self) -> bool:
        return bool(self.all("Hangup"))


@dataclass
class SimCall:
    """One call as Twilio would drive it: every request signed over the public URL."""

    client: TestClient
    public: str
    token: str
    from_number: str
    to_number: str = PRACTICE
    sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    last: Twiml | None = None

    def params(self, **extra: str) -> dict[str, str]:
        return {"CallSid": self.sid, "AccountSid": "ACtest", "From": self.from_number,
                "To": self.to_number, "Direction": "inbound", "ApiVersion": "2010-04-01",
                **extra}

    def post(self, path: str, params: dict[str, str], *, token: str | None = None):
        url = self.public + path
        signature = RequestValidator(token or self.token).compute_signature(url, params)
        return self.client.post(path, content=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature})

    def twiml(self, path: str, params: dict[str, str]) -> Twiml:
        response = self.post(path, params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        assert response.headers["server-timing"].startswith("app;dur=")
        self.last = Twiml.parse(response.text)
        return self.last

    def start(self) -> Twiml:
        return self.twiml("/twilio/voice/inbound", self.params(CallStatus="ringing"))

    def say(self, text: str, confidence: str = "0.9") -> Twiml:
        assert self.last is not None
        return self.twiml(self.last.next_path, self.params(
            CallStatus="in-progress", SpeechResult=text, Confidence=confidence))

    def press(self, digits: str) -> Twiml:
        assert self.last is not None
        return self.twiml(self.last.next_path, self.params(CallStatus="in-progress",
                                                           Digits=digits))

    def silence(self) -> Twiml:
        assert self.last is not None
        return self.twiml(self.last.next_path, self.params(CallStatus="in-progress"))

    def status(self, status: str = "completed") -> int:
        response = self.post("/twilio/voice/status", self.params(CallStatus=status,
                                                                 CallDuration="42"))
        return int(response.status_code)


def body(params: dict[str, str]) -> str:
    return urlencode(params)
