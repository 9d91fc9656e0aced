"""Redaction of detected PHI: category tags, fixed masks, or pseudonymous tokens.

``token`` mode gives each distinct value in one conversation its own numbered token
(``[NAME_1]``), normalising the ways one value is said ("five five five oh one oh one..." and
"555-010-1234" are one phone; "Maggie O'Connell", "maggie oconnell" and "margret oconnel" are
one person), so the LLM brain can reason over tokens and carecall can restore them. The
``TokenMap`` is PHI: callers encrypt ``to_bytes()`` with carecall.crypto before storing it.

``mask`` mode writes the fixed text ``[REDACTED]`` whatever the length, so a masked line does
not leak the length of a name or number.
"""

from __future__ import annotations

import json
import re
import unicodedata
from enum import StrEnum

from rapidfuzz.distance import JaroWinkler

from carecall.core.errors import InvalidInput
from carecall.phi.model import Label, Span
from carecall.phi.spoken import date_from_digits, dates_in_tokens, number_runs, tokenize

MASK = "[REDACTED]"
_TOKEN_RE = re.compile(r"\[([A-Z_]+)_(\d+)\]")
_DIGIT_LABELS = frozenset({Label.PHONE, Label.FAX, Label.SSN, Label.MRN, Label.HEALTH_PLAN_ID,
                           Label.ACCOUNT_NUMBER, Label.LICENSE_NUMBER, Label.VEHICLE_ID,
                           Label.DEVICE_ID, Label.OTHER_ID, Label.IP_ADDRESS})
_SPOKEN_SYMBOLS = {"dot": ".", "at": "@", "underscore": "_", "dash": "-", "hyphen": "-",
                   "slash": "/"}


class Mode(StrEnum):
    TAG = "tag"
    MASK = "mask"
    TOKEN = "token"  # noqa: S105 - a mode name, not a secret


def _letters(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded.lower() if c.isalnum() or c == " ").strip()


def normalise(label: Label, value: str) -> str:
    """One key for every way of saying the same value."""
    if label in _DIGIT_LABELS:
        toks = tokenize(value)
        letters = "".join(t.norm for t in toks if t.is_word and len(t.norm) == 1
                          and t.norm not in ("o",))
        digits = "".join(run.digits for run in number_runs(toks, value))
        key = letters + digits if digits else _letters(value).replace(" ", "")
        return key[-10:] if label in (Label.PHONE, Label.FAX) and len(key) == 11 else key
    if label is Label.DATE:
        toks = tokenize(value)
        found = dates_in_tokens(toks, value)
        if found:
            return found[0][0].key()
        for run in number_runs(toks, value):
            parsed = date_from_digits(run)
            if parsed is not None:
                return parsed.key()
        return _letters(value)
    if label in (Label.EMAIL, Label.URL):
        words = [_SPOKEN_SYMBOLS.get(w, w) for w in value.lower().split()]
        return "".join(words)
    return " ".join(_letters(value).split())


class TokenMap:
    """The pseudonym table of one conversation: (label, normalised value) -> token number."""

    def __init__(self) -> None:
        self._keys: dict[Label, list[str]] = {}
        self._originals: dict[str, str] = {}

    def token_for(self, label: Label, value: str) -> str:
        key = normalise(label, value)
        keys = self._keys.setdefault(label, [])
        number = self._find(label, key, keys)
        if number is None:
            keys.append(key)
            number = len(keys)
        token = f"[{label.value}_{number}]"
        self._originals.setdefault(token, value)
        return token

    @staticmethod
    def _find(label: Label, key: str, keys: list[str]) -> int | None:
        for index, existing in enumerate(keys, start=1):
            if existing == key:
                return index
        if label is Label.NAME and key:
            words = set(key.split())
            for index, existing in enumerate(keys, start=1):
                other = set(existing.split())
                if JaroWinkler.similarity(key, existing) >= 0.9:
                    return index
                # "maggie oconnell" then "oconnell": a shared surname is the same person
                if (len(words) == 1 and words <= other) or (len(other) == 1 and other <= words):
                    return index
        return None

    def restore(self, text: str) -> str:
        """Put back the first-seen original of every token in ``text``."""
        return _TOKEN_RE.sub(lambda m: self._originals.get(m.group(), m.group()), text)

    def to_bytes(self) -> bytes:
        """Plain JSON: PHI. Encrypt before it leaves memory."""
        payload = {"keys": {str(k): v for k, v in self._keys.items()},
                   "originals": self._originals}
        return json.dumps(payload, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> TokenMap:
        try:
            payload = json.loads(data.decode("utf-8"))
            made = cls()
            made._keys = {Label(k): list(v) for k, v in payload["keys"].items()}
            made._originals = dict(payload["originals"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InvalidInput("token map is damaged; redact the conversation again") from None
        return made


def redact(text: str, spans: list[Span], mode: Mode = Mode.TAG,
           token_map: TokenMap | None = None) -> str:
    """Replace each span (sorted, non-overlapping, as the detector returns them)."""
    if mode is Mode.TOKEN and token_map is None:
        raise InvalidInput("token mode needs a TokenMap for the conversation")
    out: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos:
            continue
        out.append(text[pos : span.start])
        if mode is Mode.TAG:
            out.append(f"[{span.label.value}]")
        elif mode is Mode.MASK:
            out.append(MASK)
        else:
            assert token_map is not None  # checked above; narrows for mypy
            out.append(token_map.token_for(span.label, span.text))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
