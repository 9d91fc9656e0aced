"""Names of people: the patient, relatives, household members, clinicians.

A word starts a name when a cue says so ("my name is", "my daughter", "doctor"), when the
agent asked for a name, when it is a name that cannot be an ordinary word ("kowalski"), when it
sounds like the patient's known name ("margret oconnel"), or when it is capitalised in mixed-
case text and is a name. Names that are ordinary words ("grace", "will", "bill") need a strong
cue or a capital. A name runs on over up to three more name-like words, hyphenated parts
("Okonkwo-Pereira") and initials ("Imogen D. Dubois").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import jellyfish
from rapidfuzz.distance import JaroWinkler

from carecall.phi import cues, lexicon
from carecall.phi._scan import Scan, covered
from carecall.phi._vocab import ACRONYMS, FUNCTION, words
from carecall.phi.model import KnownIdentifiers, Label
from carecall.phi.spoken import MONTHS

_STRONG_BY_LEN = tuple(
    (w, frozenset(c for c in cues.STRONG_NAME_CUES if len(c) == w)) for w in range(1, 4)
)
_WEAK_BY_LEN = tuple(
    (w, frozenset(c for c in cues.NAME_CUE_PHRASES if len(c) == w)) for w in range(1, 6)
)
_TITLES = frozenset({"mr", "mrs", "ms", "dr"})
_ANSWER_LEAD = words("yes yeah yep sure ok okay it's its it ' s uh um this is my name i'm im "
                     "i am , . hi hello")
_NEVER_NAMES = words(
    """
    file line traceback error errors exception warning info debug module true false none null
    self return def class import raise keyerror valueerror typeerror runtimeerror stack
    """
)
"""Words of logs and program output: "File" in a Python traceback is not a surname."""
_ORGANISATION_WORDS = words("hospital clinic pharmacy center centre medical health healthcare "
                            "bank university college school church")
_SPEAKING = frozenset({"here", "speaking"})
_NAME_WORDS_MAX = 4
_SIMILAR = 0.88
_SHORT_NAME = 3


def _letters_only(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word)
    return "".join(c for c in folded.lower() if c.isalpha())


def _known_parts(known: KnownIdentifiers) -> list[str]:
    parts: list[str] = []
    for name in known.names:
        for part in re.split(r"[\s-]+", name):
            clean = _letters_only(part)
            if len(clean) >= 2:
                parts.append(clean)
    return parts


def _matches_known(word: str, parts: list[str]) -> bool:
    """Exact, close in spelling (Jaro-Winkler) or alike in sound (Metaphone)."""
    if len(word) < _SHORT_NAME:
        return False
    for part in parts:
        if word == part:
            return True
        if len(part) >= 4 and word[0] == part[0] and JaroWinkler.similarity(word, part) >= (
                _SIMILAR):
            return True
        if len(part) >= 4 and jellyfish.metaphone(word) == jellyfish.metaphone(part):
            return True
    return False


@dataclass(slots=True)
class _Names:
    """The name rules over one scan, with what other rules have already claimed."""

    scan: Scan
    taken: set[int] = field(init=False)
    parts: list[str] = field(init=False)
    answer_start: int = field(init=False)

    def __post_init__(self) -> None:
        self.taken = covered(self.scan.found)
        self.parts = _known_parts(self.scan.known)
        self.answer_start = self._answer_start()

    def _answer_start(self) -> int:
        """Where a bare answer to "what's your name?" begins (-1 when not asked)."""
        if Label.NAME not in self.scan.asked:
            return -1
        k = 0
        while k < self.scan.count and self.scan.norms[k] in _ANSWER_LEAD:
            k += 1
        return k

    # ---- word tests ------------------------------------------------------------------------

    def free(self, k: int) -> bool:
        return 0 <= k < self.scan.count and self.scan.toks[k].start not in self.taken and (
            self.scan.toks[k].is_word)

    def strong_cue(self, k: int) -> bool:
        norms = self.scan.norms
        for w, group in _STRONG_BY_LEN:
            if k - w >= 0 and tuple(norms[k - w : k]) in group:
                return True
        return k >= 2 and norms[k - 1] == "." and norms[k - 2] in _TITLES

    def weak_cue(self, k: int) -> bool:
        norms = self.scan.norms
        for w, group in _WEAK_BY_LEN:
            if k - w >= 0 and tuple(norms[k - w : k]) in group:
                return True
        return k >= 2 and norms[k - 1] == "'" and norms[k - 2] in ("it", "name", "i")

    def oov(self, k: int) -> bool:
        """Not in the dictionary: a rare surname or a misspelt one."""
        n = self.scan.norms[k]
        lex = self.scan.lex
        return len(n) >= _SHORT_NAME and n.replace("'", "").isalpha() and not lex.is_word(n) \
            and not lex.is_word(n.replace("'", "")) and n not in MONTHS and n not in FUNCTION \
            and n not in _NEVER_NAMES

    def known(self, k: int) -> bool:
        return _matches_known(self.scan.norms[k], self.parts)

    def namey(self, k: int) -> bool:
        n = self.scan.norms[k]
        lex = self.scan.lex
        return lex.is_plain_name(n) or self.known(k) or (
            lex.is_name(n) and self.scan.capitalised(k))

    # ---- where a name starts ---------------------------------------------------------------

    def skip(self, i: int) -> bool:
        """Never the first word of a name."""
        scan = self.scan
        n = scan.norms[i]
        tok = scan.toks[i]
        if not self.free(i) or n in ACRONYMS or n in _NEVER_NAMES:
            return True
        if n in FUNCTION and not (i == self.answer_start and scan.capitalised(i)):
            return True
        if tok.text.isupper() and len(n) <= 4 and not scan.lex.is_name(n):
            return True
        if scan.norm(i + 1) == '"':
            return True  # File "/app/x.py": program output
        if scan.norm(i + 1) in _ORGANISATION_WORDS and scan.capitalised(i + 1):
            return True  # "Mercy Hospital" is a place; an employer is found by _employers
        nxt = i + 1
        return n in MONTHS and nxt < scan.count and (
            scan.toks[nxt].is_digits or scan.toks[nxt].start in self.taken)

    def _by_cue(self, i: int) -> bool:
        n = self.scan.norms[i]
        lex = self.scan.lex
        if self.strong_cue(i) or i == self.answer_start:
            return lex.is_name(n) or self.oov(i) or self.scan.capitalised(i) or not lex.is_word(n)
        return self.weak_cue(i) and (self.namey(i) or self.oov(i))

    def _by_itself(self, i: int) -> bool:
        """A name said without a cue."""
        scan = self.scan
        n = scan.norms[i]
        if not self.namey(i) or n in MONTHS:
            return False  # "in March", "since July": a month, unless a cue says "June Carter"
        if len(n) > _SHORT_NAME or scan.capitalised(i) or self.known(i):
            return True
        return self.free(i + 1) and (scan.lex.is_name(scan.norms[i + 1]) or self.oov(i + 1))

    def _first_and_last(self, i: int) -> bool:
        """"mark brennan": a first name that is a word, then a surname."""
        scan = self.scan
        lex = scan.lex
        n = scan.norms[i]
        nxt = scan.norm(i + 1)
        if not (lex.is_name(n) and n in lex.first_names and n not in MONTHS and self.free(i + 1)):
            return False
        if not (lex.is_plain_name(nxt) and nxt in lex.surnames):
            return False
        return not lex.is_word(nxt) or nxt in lexicon.NAME_DOMINANT

    def _rare_word(self, i: int) -> bool:
        scan = self.scan
        if not self.oov(i):
            return False
        if scan.norms[i] in scan.lex.surnames or scan.norm(i + 1) in _SPEAKING:
            return True
        return scan.capitalised(i) and self.free(i + 1) and scan.toks[i + 1].text[:1].isupper()

    def starts(self, i: int) -> bool:
        return self._by_cue(i) or self._by_itself(i) or self._first_and_last(i) or (
            self._rare_word(i))

    # ---- how far it runs -------------------------------------------------------------------

    def _continues(self, k: int, strong: bool, answer: bool) -> bool:
        scan = self.scan
        m = scan.norms[k]
        lex = scan.lex
        if m in FUNCTION or m in MONTHS or m in _NEVER_NAMES:
            return False
        if lex.is_plain_name(m) or self.oov(k) or self.known(k):
            return True
        if lex.is_name(m) and (scan.capitalised(k) or answer or strong):
            return True
        return len(m) == 1 and scan.norm(k + 1) == "."  # an initial: "Imogen D. Dubois"

    def _hyphen_part(self, end: int) -> bool:
        """"okonkwo-pereira": a hyphen with no spaces, then a word."""
        toks = self.scan.toks
        return end + 2 < self.scan.count and toks[end + 1].norm == "-" and toks[
            end + 1].start == toks[end].end and toks[end + 2].start == toks[end + 1].end and \
            self.free(end + 2)

    def end_of(self, i: int) -> int:
        strong = self.strong_cue(i)
        answer = i == self.answer_start
        end = i
        words_used = 1
        while words_used < _NAME_WORDS_MAX:
            if self._hyphen_part(end):
                end += 2
                continue
            if not self.free(end + 1) or not self._continues(end + 1, strong, answer):
                break
            end += 1
            words_used += 1
            if len(self.scan.norms[end]) == 1 and self.scan.norm(end + 1) == ".":
                end += 1
        return end


def names(scan: Scan) -> None:
    rules = _Names(scan)
    i = 0
    while i < scan.count:
        if rules.skip(i) or not rules.starts(i):
            i += 1
            continue
        end = rules.end_of(i)
        scan.add(i, end, Label.NAME, 4)
        i = end + 1
