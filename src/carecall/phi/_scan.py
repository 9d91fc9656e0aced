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
_ABBREVIATIONS = frozenset({"no", "nos", "num", "acct", "ext", "dr", "mr", "mrs", "ms", "st",
                            "inv", "pt", "med", "rec", "apt", "id", "ph", "tel", "ser", "fx",
                            "e", "p", "o", "s", "n", "d", "b", "m", "r"})
"""Words written with a full stop that does not end the sentence ("acct. no. 4471")."""
_CUT_RE = re.compile(r"(?<!\.)[.?!;](?!\.)(?=\s|$)")
_LETTER_DOT_RE = re.compile(r"\b([a-z]{1,3})\.(?=\s*[a-z0-9#:]|\s*$)")
"""A full stop after a letter or a short word ("s.n.", "ser. no."), read as a space."""
_ABBREVIATION_DOT_RE = re.compile(r"\b[a-z]{1,4}$")
_LINK_AFTER = frozenset({"is", "was", "that's", "thats", "are", "being"})
_MODEL_WORDS = frozenset({"model", "version", "firmware", "software", "generation", "series"})
_MODEL_LINKS = frozenset({"is", "number", "no", "#", ":", "was", "."})
_APPOSITIVE = frozenset({"the", "my", "his", "her", "our", "their", "which"})
_LINK_AFTER_RE = re.compile(r",?\s*(?:is|was|that's|thats|that is|are)\b|,\s*(?=(?:the|my|his|her"
                            r"|our|their|which)\b)", re.IGNORECASE)


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
        parts: list[str] = []
        k = first - 1
        while k >= 0 and len(parts) < reach:
            n = self.norms[k]
            k -= 1
            if n in _SENTENCE_END:
                if self.ends_sentence(k + 1):
                    break
                if n == ".":
                    continue  # the dots of "S.N.", "acct. no.", "m.r.n." count for nothing
            parts.append(n)
        if not parts:
            return None
        window = " ".join(reversed(parts))
        window = _SPELLED_RE.sub(lambda m: m.group().replace(" ", ""), window)
        got = cues.closest_cue(window)
        return got[0] if got else None

    def words_before(self, first: int, reach: int) -> str:
        """The ``reach`` tokens before ``first`` within the sentence, joined by spaces."""
        parts: list[str] = []
        k = first - 1
        while k >= 0 and len(parts) < reach:
            n = self.norms[k]
            k -= 1
            if n in _SENTENCE_END and self.ends_sentence(k + 1):
                break
            parts.append(n)
        return " ".join(reversed(parts))

    def cues_before(self, first: int, reach: int) -> set[Label]:
        """The labels of every cue in the ``reach`` tokens before ``first``, in the sentence."""
        return cues.all_cues(self.words_before(first, reach))

    def ends_sentence(self, k: int) -> bool:
        """Whether the punctuation token ``k`` ends a sentence: not the dots of an ellipsis
        ("four four... seven one"), not the full stop of an abbreviation ("acct. no."), not a
        full stop inside a token ("S.N")."""
        if self.norms[k] != ".":
            return True
        toks = self.toks
        if (k > 0 and self.norms[k - 1] == ".") or (k + 1 < self.count
                                                   and self.norms[k + 1] == "."):
            return False
        if k + 1 < self.count and toks[k + 1].start == toks[k].end:
            return False
        return not (k > 0 and self.norms[k - 1] in _ABBREVIATIONS)

    def model_number(self, first: int) -> bool:
        """"model 5076", "the model is XR-400", "version 2.1": a product's number, which names
        no one, said right after its word."""
        k = first - 1
        while k >= 0 and self.norms[k] in _MODEL_LINKS:
            k -= 1
        return k >= 0 and self.norms[k] in _MODEL_WORDS

    def cue_after(self, last: int, reach: int = 8) -> Label | None:
        """The cue said after a value and linked to it ("w four four one is my member id",
        "614-555-0142, that's my cell"), within the sentence."""
        k = last + 1
        linked = False
        if self.norm(k) == ",":
            k += 1
            linked = self.norm(k) in _APPOSITIVE  # "4471, the last four of my social"
        if self.norm(k) == "that" and self.norm(k + 1) == "is":
            k += 1
        if self.norm(k) in _LINK_AFTER:
            k += 1
            linked = True
        if not linked:
            return None
        parts: list[str] = []
        for j in range(k, min(self.count, k + reach)):
            if self.norms[j] in _SENTENCE_END and self.ends_sentence(j):
                break
            parts.append(self.norms[j])
        window = _SPELLED_RE.sub(lambda m: m.group().replace(" ", ""), " ".join(parts))
        return cues.first_cue(window)

    def cue_after_offset(self, end: int) -> Label | None:
        """``cue_after`` for a formatted match found by a regular expression."""
        m = _LINK_AFTER_RE.match(self.text, end)
        if m is None:
            return None
        window = self.text[m.end() : m.end() + 48].lower()
        cut = _CUT_RE.search(window)
        return cues.first_cue(window[: cut.start()] if cut else window)

    def cue_before_offset(self, offset: int) -> Label | None:
        """``cue_before`` for a formatted match found by a regular expression."""
        window = _LETTER_DOT_RE.sub(r"\1 ", self.text[max(0, offset - 48) : offset].lower())
        window = _SPELLED_RE.sub(lambda m: m.group().replace(" ", ""), window.replace("_", " "))
        for m in reversed(list(_CUT_RE.finditer(window))):
            word = _ABBREVIATION_DOT_RE.search(window, 0, m.start())
            if m.group() == "." and word is not None and word.group() in _ABBREVIATIONS:
                continue
            window = window[m.end() :]
            break
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
