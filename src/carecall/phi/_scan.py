"""One line being scanned: its tokens, number and letter runs, context, and the candidates.

Every rule module reads a ``Scan`` and appends ``Found`` candidates; the resolver then keeps
the best non-overlapping ones. Building the tokens and runs once keeps the detector one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carecall.phi import cues
from carecall.phi.lexicon import Lexicon
from carecall.phi.model import KnownIdentifiers, Label
from carecall.phi.spoken import LetterRun, NumberRun, Token, letter_runs, number_runs

_SPELLED_RE = re.compile(r"\b[a-z](?: [a-z]\b)+")
_SENTENCE_END = frozenset({".", "?", "!", ";"})


@dataclass(slots=True)
class Found:
    """A candidate span; on overlap the higher ``priority`` (then the longer) wins."""

    start: int
    end: int
    label: Label
    priority: int


@dataclass(slots=True)
class Scan:
    text: str
    toks: list[Token]
    asked: set[Label]
    known: KnownIdentifiers
    lex: Lexicon
    found: list[Found] = field(default_factory=list)
    count: int = field(init=False)
    norms: list[str] = field(init=False)
    runs: list[NumberRun] = field(init=False)
    letters: list[LetterRun] = field(init=False)
    run_from: dict[int, NumberRun] = field(init=False)
    """Number runs by their first token."""
    run_to: dict[int, NumberRun] = field(init=False)
    """Number runs by their last token."""
    mixed_case: bool = field(init=False)
    """Capitals carry meaning only when the text is neither all lower nor all upper case."""

    def __post_init__(self) -> None:
        self.count = len(self.toks)
        self.norms = [t.norm for t in self.toks]
        self.runs = number_runs(self.toks, self.text)
        self.letters = letter_runs(self.toks, minimum=2)
        self.run_from = {run.first: run for run in self.runs}
        self.run_to = {run.last: run for run in self.runs}
        rest = self.text[1:]
        self.mixed_case = rest != rest.lower() and not self.text.isupper()

    def capitalised(self, k: int) -> bool:
        """A capital that is not just the start of a sentence or "I"."""
        return self.mixed_case and k > 0 and self.toks[k].text[:1].isupper() and self.norms[
            k - 1] not in _SENTENCE_END and self.norms[k] != "i"

    def norm(self, i: int) -> str:
        """The token's lower-case text, or "" outside the line."""
        return self.norms[i] if 0 <= i < len(self.norms) else ""

    def add(self, first: int, last: int, label: Label, priority: int) -> None:
        """A candidate from token ``first`` to token ``last`` inclusive."""
        self.found.append(Found(self.toks[first].start, self.toks[last].end, label, priority))

    def cue_before(self, first: int, reach: int = 9) -> Label | None:
        """The label of the nearest cue in the ``reach`` tokens before ``first``, within the
        sentence ("my member id is ..."); spelled cues ("m r n") are read as words."""
        lo = max(0, first - reach)
        parts: list[str] = []
        for k in range(first - 1, lo - 1, -1):
            n = self.norms[k]
            if n in _SENTENCE_END:
                break
            parts.append(n)
        if not parts:
            return None
        window = " ".join(reversed(parts))
        window = _SPELLED_RE.sub(lambda m: m.group().replace(" ", ""), window)
        got = cues.closest_cue(window)
        return got[0] if got else None

    def cue_before_offset(self, offset: int) -> Label | None:
        """``cue_before`` for a formatted match found by a regular expression."""
        window = self.text[max(0, offset - 48) : offset].lower()
        cut = max(window.rfind("."), window.rfind("?"), window.rfind(";"))
        if cut >= 0:
            window = window[cut + 1 :]
        got = cues.closest_cue(window)
        return got[0] if got else None

    def asked_one(self) -> Label | None:
        """The one identifier the agent asked for, when it asked for exactly one."""
        ids = self.asked - {Label.NAME, Label.DATE}
        return next(iter(ids)) if len(ids) == 1 else None


def covered(found: list[Found]) -> set[int]:
    """Every character offset already claimed by a candidate."""
    taken: set[int] = set()
    for f in found:
        taken.update(range(f.start, f.end))
    return taken
