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
from carecall.phi._addresses import COUNTRIES, STATES
from carecall.phi._scan import Found, Scan, covered
from carecall.phi._vocab import ACRONYMS, FUNCTION, words
from carecall.phi.model import KnownIdentifiers, Label
from carecall.phi.spoken import MONTHS

_WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday mon tue tues wed "
                  "thu thur thurs fri sat sun")
_NOT_NAMES = MONTHS.keys() | _WEEKDAYS

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
_PERSON_VERBS = words("""
    call calls called calling said says told tells asked asks wants wanted needs needed
    came comes went goes got gets picked picks dropped
    drops signed signs left leaves knows knew thinks thought saw sees spoke speaks talked talks
    helps helped takes took drove drives lives lived works worked brought brings
    """)
"""Verbs whose subject is a person."""
_DETERMINERS = words("the a an this that my your our their his her")
_CUE_REACH = 24
_ACRONYM_MAX = 4
_PATH_MARKS = frozenset({"/", "\\", "=", "_"})
_NEVER_START = ACRONYMS | _NEVER_NAMES | _WEEKDAYS
_NOT_SURNAMES = words("works work worked back even call calls called came left home over down "
                      "right long young little best")
"""Surnames that are mostly the word after a name ("john works nights", "mary came back")."""
_POSSESSIVES = words("my his her our your their")
_TITLE_WORDS = words("mr mrs ms miss mister missus dr doctor nurse reverend rev pastor officer "
                     "sergeant sgt deputy detective professor prof judge coach captain")
_POSSESSIVE = 3


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
    w: list[str] = field(init=False)
    """The words without a possessive "'s" ("Feld's" is looked up as "feld")."""

    def __post_init__(self) -> None:
        self.taken = covered(self.scan.found)
        self.parts = _known_parts(self.scan.known)
        self.answer_start = self._answer_start()
        self.w = [n[:-2] if len(n) > _POSSESSIVE and n.endswith("'s") else n
                  for n in self.scan.norms]

    def cue_words(self, first: int, last: int) -> list[bool]:
        """For each word of a candidate name, whether it is part of an identifier cue ("Blue
        Cross card", "Medical Record #", "policy holder id"): such words are not a name.
        Read from the candidate and a few words around it, once per candidate."""
        toks = self.scan.toks
        if not any(self.w[k] in cues.CUE_WORDS for k in range(first, last + 1)):
            return [False] * (last - first + 1)
        lo = max(0, toks[first].start - _CUE_REACH)
        window = self.scan.text[lo : toks[last].end + _CUE_REACH].lower()
        spans = cues.cue_spans(window)
        return [any(start <= toks[k].start - lo < end for start, end in spans)
                for k in range(first, last + 1)]

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

    def shouted(self, k: int) -> bool:
        """A word in capitals inside mixed-case text ("Press CTRL+C", "the NURSE LINE"): a
        program's or a form's word, a name only when it is a name that is not also a word."""
        tok = self.scan.toks[k]
        return self.scan.mixed_case and len(tok.text) > 1 and tok.text.isupper() and not (
            self.scan.lex.is_plain_name(self.w[k]) or self.known(k))

    def glued(self, k: int) -> bool:
        """A word joined to digits or a key mark after it ("sha256", "src=", "INC0048821"):
        a program's or an identifier's word, not a name."""
        toks = self.scan.toks
        if k + 1 >= self.scan.count or toks[k + 1].start != toks[k].end:
            return False
        nxt = self.scan.norms[k + 1]
        return nxt[:1].isdigit() or nxt in _PATH_MARKS

    def _capitalised_pair(self, i: int) -> bool:
        """"mark it under Will Rivers": a first name that is also a small word, capitalised
        inside a sentence, before a capitalised surname."""
        scan = self.scan
        return scan.capitalised(i) and self.w[i] in scan.lex.first_names and self.free(
            i + 1) and scan.capitalised(i + 1) and scan.lex.is_name(self.w[i + 1])

    def strong_cue(self, k: int) -> bool:
        norms = self.scan.norms
        if k > 0 and norms[k - 1] == ":":
            k -= 1  # "Patient name: Hargreave"
        for w, group in _STRONG_BY_LEN:
            if k - w >= 0 and tuple(norms[k - w : k]) in group:
                return True
        return k >= 2 and norms[k - 1] == "." and norms[k - 2] in _TITLES

    def weak_cue(self, k: int) -> bool:
        norms = self.scan.norms
        if k > 0 and norms[k - 1] in (":", ","):
            k -= 1  # "Thanks, Priya", "my sister, Bernice"
        for w, group in _WEAK_BY_LEN:
            if k - w >= 0 and tuple(norms[k - w : k]) in group:
                return True
        return k >= 2 and norms[k - 1] == "'" and norms[k - 2] in ("it", "name", "i")

    def oov(self, k: int) -> bool:
        """Not in the dictionary: a rare surname or a misspelt one."""
        n = self.w[k]
        lex = self.scan.lex
        return len(n) >= _SHORT_NAME and n.replace("'", "").isalpha() and not lex.is_word(n) \
            and not lex.is_word(n.replace("'", "")) and n not in _NOT_NAMES and n not in FUNCTION \
            and n not in _NEVER_NAMES

    def known(self, k: int) -> bool:
        return _matches_known(self.w[k], self.parts)

    def namey(self, k: int) -> bool:
        n = self.w[k]
        lex = self.scan.lex
        return lex.is_plain_name(n) or self.known(k) or (
            lex.is_name(n) and self.scan.capitalised(k))

    # ---- where a name starts ---------------------------------------------------------------

    def skip(self, i: int) -> bool:
        """Never the first word of a name."""
        n = self.w[i]
        if n in _NEVER_START or not self.free(i) or self.glued(i):
            return True
        if (n in COUNTRIES or n in STATES) and n not in self.scan.lex.first_names:
            return True  # "that's Maine", "from Germany": a state or country names no one
        if n in FUNCTION and not (i == self.answer_start and self.scan.capitalised(i)) and not (
                self._capitalised_pair(i)):
            return True
        return self._role_word(i, n) or self._program_word(i, n) or self._before_other(i, n)

    def _role_word(self, i: int, n: str) -> bool:
        """A state after a place, a relative after "my", a title before a name."""
        scan = self.scan
        if n in STATES and any(scan.toks[k].start in self.taken for k in (i - 1, i - 2)
                               if k >= 0):
            return True  # "lakewood colorado": the state after a place is not a name
        if n in cues.RELATIVES and scan.norm(i - 1) in _POSSESSIVES:
            return True  # "my son victor": "son" is who he is, "victor" his name
        return n in _TITLE_WORDS and self.free(i + 1)  # "officer danny reyes"

    def _program_word(self, i: int, n: str) -> bool:
        """Words of logs and forms: capitals ("Press CTRL+C", "NURSE LINE"), short acronyms,
        paths and keys ("/healthz", "user="), quoted file names."""
        scan = self.scan
        tok = scan.toks[i]
        if self.shouted(i) and not self.strong_cue(i):
            return True
        if tok.text.isupper() and len(n) <= _ACRONYM_MAX and not scan.lex.is_name(n):
            return True
        nxt = scan.norm(i + 1)
        if nxt == '"':
            return True  # File "/app/x.py": program output
        return (i > 0 and scan.norms[i - 1] in _PATH_MARKS and scan.toks[i - 1].end == (
            tok.start)) or (nxt in _PATH_MARKS and scan.toks[i + 1].start == tok.end)

    def _before_other(self, i: int, n: str) -> bool:
        """"Mercy Hospital" is a place (an employer is found by _employers); "may 5" a date."""
        scan = self.scan
        if scan.norm(i + 1) in _ORGANISATION_WORDS and scan.capitalised(i + 1):
            return True
        return n in MONTHS and i + 1 < scan.count and (
            scan.toks[i + 1].is_digits or scan.toks[i + 1].start in self.taken)

    def _by_cue(self, i: int) -> bool:
        n = self.w[i]
        lex = self.scan.lex
        if self.strong_cue(i) or i == self.answer_start:
            return lex.is_name(n) or self.oov(i) or self.scan.capitalised(i) or not lex.is_word(n)
        if not self.weak_cue(i):
            return False
        # "my wife hope", "my son mark": after a relative, a name that is also a word; "this
        # is dawn white": a first name and a surname, both also words
        return self.namey(i) or self.oov(i) or (
            n in lex.first_names and self.scan.norm(i - 1) in cues.RELATIVES) or (
            n in lex.first_names and self._surname_word(i + 1))

    def _surname_word(self, k: int) -> bool:
        """A surname at ``k``; one that is also a word ("brown", "price") only if common."""
        m = self.w[k] if k < self.scan.count else ""
        lex = self.scan.lex
        if not self.free(k) or m in _NOT_SURNAMES or m in FUNCTION:
            return False
        return m in lex.common_surnames if lex.is_word(m) else m in lex.surnames

    def _by_itself(self, i: int) -> bool:
        """A name said without a cue."""
        scan = self.scan
        n = self.w[i]
        lex = scan.lex
        if not self.namey(i) or n in MONTHS:
            return False  # "in March", "since July": a month, unless a cue says "June Carter"
        if lex.is_word(n) and n not in lex.first_names and not self.known(i) and not (
                self.free(i + 1) and self.namey(i + 1)) and not (
                self.free(i - 1) and self.namey(i - 1)):
            return False  # "Service", "Press": a capitalised word that is only a surname
        if len(n) > _SHORT_NAME or scan.capitalised(i) or self.known(i):
            return True
        return self.free(i + 1) and (scan.lex.is_name(scan.norms[i + 1]) or self.oov(i + 1))

    def _first_and_last(self, i: int) -> bool:
        """"mark brennan": a first name that is a word, then a surname."""
        scan = self.scan
        lex = scan.lex
        n = self.w[i]
        nxt = self.w[i + 1] if i + 1 < scan.count else ""
        if not (lex.is_name(n) and n in lex.first_names and n not in MONTHS and self.free(i + 1)):
            return False
        if not (lex.is_plain_name(nxt) and nxt in lex.surnames):
            return False
        return not lex.is_word(nxt) or nxt in lexicon.NAME_DOMINANT

    def _rare_word(self, i: int) -> bool:
        scan = self.scan
        if not self.oov(i):
            return False
        if self.w[i] in scan.lex.surnames or scan.norm(i + 1) in _SPEAKING:
            return True
        if self.free(i + 1) and self.oov(i + 1) and not self.shouted(i + 1) and not (
                self.glued(i + 1)):
            return True  # "oluwaseun adeyemi": two words no dictionary knows
        if self.free(i - 1) and self.w[i - 1] in scan.lex.first_names and (
                self.w[i - 1] not in FUNCTION):
            return True  # "chase okafor": a surname no dictionary knows after a first name
        if (scan.capitalised(i) and self.free(i + 1) and scan.toks[i + 1].text[:1].isupper()) or (
                scan.mixed_case and i >= 2 and scan.toks[i].text[:1].isupper() and scan.norms[
                i - 1] == "." and len(scan.toks[i - 2].text) == 1 and scan.toks[
                i - 2].text.isupper()):
            return True  # "Okafor Reyes"; "R. Lindqvist": a rare surname after an initial
        # "could Perpetua call me back": a capitalised word no dictionary knows, said before a
        # verb of what people do, is someone; "I take Ozempic" is not followed by one
        return scan.capitalised(i) and scan.norm(i + 1) in _PERSON_VERBS and scan.norm(
            i - 1) not in _DETERMINERS

    def starts(self, i: int) -> bool:
        n = self.w[i]
        lex = self.scan.lex
        if lex.is_word(n) and not lex.is_name(n) and not self.scan.capitalised(i) and not (
                self.parts and self.known(i)):
            return False  # an ordinary word, in lower case: no rule below can take it
        return self._by_cue(i) or self._by_itself(i) or self._first_and_last(i) or (
            self._rare_word(i)) or self._relative_after(i) or self._speaking_after(i)

    def _speaking_after(self, i: int) -> bool:
        """"penny white speaking", "grace here": a first name (and a surname) before the
        words a caller gives their name with."""
        scan = self.scan
        if self.w[i] not in scan.lex.first_names:
            return False
        after = i + 2 if self._surname_word(i + 1) else i + 1
        return scan.norm(after) in _SPEAKING and scan.norm(after + 1) in ("", ".", ",", "!")

    def _relative_after(self, i: int) -> bool:
        """"hunter is my son", "Grace was our neighbor": a name, even one that is a word, said
        before what the person is to the caller."""
        scan = self.scan
        if self.w[i] not in scan.lex.first_names or scan.norm(i - 1) in _DETERMINERS:
            return False
        k = i + 1
        if scan.norm(k) not in ("is", "was", "'s"):
            return False
        k += 1
        if scan.norm(k) not in _POSSESSIVES:
            return False
        if scan.norm(k + 1) in ("late", "older", "younger", "little", "big", "step", "ex"):
            k += 1
        return scan.norm(k + 1) in cues.RELATIVES

    # ---- how far it runs -------------------------------------------------------------------

    def _continues(self, k: int, strong: bool, answer: bool, first: int) -> bool:
        scan = self.scan
        m = self.w[k]
        lex = scan.lex
        if m in FUNCTION or m in _NOT_NAMES or m in _NEVER_NAMES or self.shouted(k) or (
                self.glued(k)):
            return False
        if lex.is_plain_name(m) or self.oov(k) or self.known(k):
            return True
        if lex.is_name(m) and (scan.capitalised(k) or answer or strong):
            return True
        if k - 1 == first and (self.w[first] in lex.first_names or self.oov(first)) and (
                self._surname_word(k)):
            return True  # "samuel rice", "priya lane": a first name, then a surname-word
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
            if not self.free(end + 1) or not self._continues(end + 1, strong, answer, i):
                break
            end += 1
            words_used += 1
            if len(self.scan.norms[end]) == 1 and self.scan.norm(end + 1) == ".":
                end += 1
        return end


_MODEL_CODE_RE = re.compile(r"[A-Z]{1,3}\d{1,4}[A-Z]?|\d{1,3}|MRI|XT|DR|SR|XL")
"""Said after a product's name: "Lumity L90", "Evera MRI XT", "Audeo Lumity 90"."""
_PRODUCT_BEFORE = words("model phonak oticon starkey resound signia widex medtronic dexcom "
                        "resmed respironics tandem omnipod abbott biotronik boston minimed "
                        "philips inspire")


def _product(scan: Scan, first: int, end: int) -> bool:
    """A device's model name in mixed-case text ("Phonak Lumity L90", "Assurity MRI"), which
    names no one: capitalised words after a maker or "model", or before a model code."""
    if not scan.mixed_case:
        return False
    k = first - 1
    while k >= 0 and scan.norms[k] in ("a", "an", "the", "is", ":"):
        k -= 1
    if k >= 0 and scan.norms[k] in _PRODUCT_BEFORE:
        return True
    nxt = end + 1
    return nxt < scan.count and _MODEL_CODE_RE.fullmatch(scan.toks[nxt].text) is not None and (
        scan.toks[nxt].start > scan.toks[end].end)


def names(scan: Scan) -> None:
    rules = _Names(scan)
    i = 0
    while i < scan.count:
        if rules.skip(i) or not rules.starts(i):
            i += 1
            continue
        end = rules.end_of(i)
        first = i
        if rules.free(i - 1) and not rules.skip(i - 1) and (rules.oov(i - 1) or (
                rules.w[i - 1] in scan.lex.first_names and rules.oov(i))):
            first = i - 1  # "siddharth patel", "Nevaeh Johnson", "chase okafor"
        in_cue = rules.cue_words(first, end)
        if in_cue[i - first] and not rules.strong_cue(i):
            i += 1
            continue
        if in_cue[0]:
            first = i
        after = in_cue[i - first + 1 :]  # word i is a name here, even if it is a cue word
        if any(after):  # a cue after it ends the name: "tank morrison member id"
            end = i + after.index(True)
        if _product(scan, first, end):
            i = end + 1
            continue
        while first >= 2 and scan.norms[first - 1] == "." and len(scan.toks[first - 2].text) == 1 \
                and scan.toks[first - 2].text.isupper() and rules.free(first - 2):
            first -= 2  # "J. R. Castellanos", "Dr. A. Varga": initials before the surname
        last = scan.toks[end]
        cut = 2 if rules.w[end] != scan.norms[end] else 0  # "Feld's": the name is "Feld"
        scan.found.append(Found(scan.toks[first].start, last.end - cut, Label.NAME, 4))
        i = end + 1
