"""The PHI detector: rules over one tokenisation, tuned for call-centre speech-to-text.

Why rules and not a model: the identifiers in a call are said in a handful of forms (digits in
groups, dates, spelled names, "dot" and "at"), the cues before them are few, and a rule can
explain itself to a privacy officer. No network and no model download, so it starts in well
under a second and reads thousands of lines a second.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

import jellyfish
from rapidfuzz.distance import JaroWinkler

from carecall.phi import cues, lexicon
from carecall.phi.model import DetectContext, KnownIdentifiers, Label, Span
from carecall.phi.spoken import (
    FILLERS,
    MONTHS,
    ORDINALS,
    TENS,
    LetterRun,
    NumberRun,
    Token,
    date_from_digits,
    dates_in_tokens,
    letter_runs,
    number_runs,
    read_element,
    tokenize,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(
    r"\b(?:https?://[^\s,]+|www\.[^\s,]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|gov|edu|io|"
    r"health|us|info|biz)(?:/[^\s,]*)?)",
    re.IGNORECASE,
)
_IP_RE = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_ALNUM_RE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,}\b")  # noqa: E501
_UNIT_SUFFIX_RE = re.compile(
    r"^\d+(?:st|nd|rd|th|mg|mcg|ml|g|kg|lb|lbs|am|pm|x|s|k|mm|cm|in|ft|hr|hrs|min|mins|%)$", re.I
)

_UNITS_AFTER = frozenset(
    _words(
        """
        mg milligram milligrams mcg microgram micrograms ml milliliter milliliters cc gram
        grams g unit units iu pill pills tablet tablets tab tabs capsule capsules cap caps
        dose doses drop drops puff puffs refill refills shot shots injection injections
        minute minutes min mins hour hours hr hrs day days week weeks month months year
        years yrs time times dollar dollars buck bucks cent cents percent pound pounds lb
        lbs kilo kilos kg degree degrees am pm a p o'clock oclock feet foot inch inches mile
        miles step steps beats bpm calorie calories ounce ounces oz cups cup glasses
        sessions visits people kids children patients copay each a.m. p.m. o
        """
    )
)
_BEFORE_NOT_ID = frozenset(
    {"press", "option", "dial", "pressure", "over", "about", "take", "takes", "taking", "took",
     "$", "at", "around", "by", "until", "til", "till", "after", "before", "since", "from",
     "every", "each", "room", "floor", "level", "step", "page", "number", "stage", "type",
     "grade", "size", "temperature", "temp", "weight", "weigh", "weighs", "sugar", "glucose",
     "pulse", "rate", "oxygen", "a1c", "score", "ago", "last", "past", "next", "for"}
)
_AGE_BEFORE = frozenset({"i'm", "im", "am", "he's", "hes", "she's", "shes", "age", "aged",
                         "turned", "turning", "turns"})
_PERSON_WORDS = frozenset(
    _words(
        """
        he she father mother dad mom husband wife grandmother grandfather grandma grandpa
        aunt uncle patient brother sister son daughter
        """
    )
)
_STREET_SUFFIXES = frozenset(
    _words(
        """
        street st avenue ave road rd drive dr lane ln boulevard blvd court ct way place pl
        circle cir terrace ter parkway pkwy highway hwy trail trl square sq loop row alley
        pike crescent close
        """
    )
)
_UNIT_WORDS = frozenset({"apartment", "apt", "unit", "suite", "ste", "#", "number", "building",
                         "bldg", "floor", "lot", "room"})
_STATES = frozenset(
    _words(
        """
        alabama alaska arizona arkansas california colorado connecticut delaware florida
        georgia hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland
        massachusetts michigan minnesota mississippi missouri montana nebraska nevada ohio
        oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington
        wisconsin wyoming
        """
    )
)
_STATE_PAIRS = frozenset({("new", "hampshire"), ("new", "jersey"), ("new", "mexico"),
                          ("new", "york"), ("north", "carolina"), ("north", "dakota"),
                          ("south", "carolina"), ("south", "dakota"), ("west", "virginia"),
                          ("rhode", "island")})
_STATE_CODES = frozenset(
    _words(
        """
        AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
        NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC
        """
    )
)
_CITY_CUES = (("live", "in"), ("living", "in"), ("moved", "to"), ("located", "in"),
              ("city", "of"), ("town", "of"), ("live", "over", "in"), ("county",))
_TLDS = frozenset({"com", "net", "org", "edu", "gov", "io", "us", "co", "info", "biz", "health"})
_EMAIL_JOIN = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-", ".": ".", "_": "_",
               "-": "-"}
_ACRONYMS = frozenset({"icu", "atm", "mri", "ekg", "ecg", "cpr", "usa", "ent", "ptsd", "copd",
                       "adhd", "hiv", "std", "uti", "ibs", "gerd", "cbc", "tsa", "ups", "dmv",
                       "rsv", "aids", "nyc", "pcp", "obgyn", "ob", "gyn", "dna", "faq", "asap",
                       "ssi", "ssdi", "hmo", "ppo", "aarp", "cvs", "abc", "ira", "irs", "usps",
                       "mrn", "ssn", "dob", "mbi", "npi", "cgm", "vin", "bmi", "mrsa",
                       "ivf", "iud", "pt", "ot", "cpap", "bipap", "ada", "hipaa"})
_FUNCTION = frozenset(
    _words(
        """
        a an the and or but of to in on at for from with by about as is are was were be been
        am i you he she it we they me him her us them my your his its our their this that
        these those yes no not yeah ok okay so um uh er please thanks thank just also too
        very really well calling call here there what when where who how why which can could
        would should will may might must do does did have has had get got need want like
        know think and sure hi hello bye speak speaking talk name it's i'm that's on up out
        over again still said says told tells asked gave sent wrote prescribed wants wanted
        called here there now then today
        """
    )
)



@dataclass(slots=True)
class _Found:
    start: int
    end: int
    label: Label
    priority: int


class PhiDetector:
    """Created once per process; ``detect`` is pure and thread-safe."""

    def __init__(self) -> None:
        self._lex = lexicon.load()

    # ---- public ----------------------------------------------------------------------------

    def detect(self, text: str, context: DetectContext | None = None) -> list[Span]:
        ctx = context or DetectContext()
        toks = tokenize(text)
        asked = cues.agent_asks(ctx.previous_agent_text)
        found: list[_Found] = []
        self._formatted(text, toks, asked, found)
        runs = number_runs(toks, text)
        letters = letter_runs(toks, minimum=2)
        self._emails(toks, found)
        self._spoken_ips(toks, runs, found)
        self._alnum(toks, asked, found)
        self._dates(text, toks, runs, asked, ctx.known, found)
        self._addresses(toks, runs, found)
        self._numbers(text, toks, runs, letters, asked, ctx.known, found)
        self._letters(toks, letters, asked, found)
        self._names(text, toks, asked, ctx.known, found)
        return self._resolve(text, found)

    # ---- formatted patterns -----------------------------------------------------------------

    def _formatted(self, text: str, toks: list[Token], asked: set[Label],
                   found: list[_Found]) -> None:
        for m in _EMAIL_RE.finditer(text):
            found.append(_Found(m.start(), m.end(), Label.EMAIL, 9))
        for m in _URL_RE.finditer(text):
            if "@" not in text[max(0, m.start() - 1) : m.end()]:
                found.append(_Found(m.start(), m.end(), Label.URL, 8))
        for m in _IP_RE.finditer(text):
            found.append(_Found(m.start(), m.end(), Label.IP_ADDRESS, 9))
        for m in _SSN_RE.finditer(text):
            found.append(_Found(m.start(), m.end(), Label.SSN, 9))
        for m in _ALNUM_RE.finditer(text):
            word = m.group()
            if _UNIT_SUFFIX_RE.match(word) or word.lower() in _ACRONYMS:
                continue
            if sum(c.isdigit() for c in word) < 2 and len(word) < 6:
                continue
            cue = self._cue_before_offset(text, m.start()) or _single(asked)
            label = cue if cue not in (None, Label.DATE, Label.EMAIL, Label.URL) else Label.OTHER_ID
            found.append(_Found(m.start(), m.end(), label or Label.OTHER_ID, 7))

    def _cue_before_offset(self, text: str, offset: int) -> Label | None:
        window = text[max(0, offset - 48) : offset].lower()
        cut = max(window.rfind("."), window.rfind("?"), window.rfind(";"))
        if cut >= 0:
            window = window[cut + 1 :]
        got = cues.closest_cue(window)
        return got[0] if got else None

    # ---- spoken emails and web addresses ---------------------------------------------------

    def _emails(self, toks: list[Token], found: list[_Found]) -> None:
        """Spoken e-mail and web addresses: "maggie dot oconnell at gmail dot com",
        "mychart dash example dot org slash patient slash eight oh seven"."""
        count = len(toks)

        def part(k: int) -> bool:
            return 0 <= k < count and (toks[k].is_word or toks[k].is_digits) and (
                toks[k].norm not in _EMAIL_JOIN and toks[k].norm not in ("at", "slash"))

        def chain_back(k: int) -> int:
            """First token of the dotted/dashed chain ending at ``k``."""
            while k >= 2 and toks[k - 1].norm in _EMAIL_JOIN and part(k - 2):
                k -= 2
            return k

        for i in range(1, count - 1):
            if toks[i].norm != "dot" or toks[i + 1].norm not in _TLDS or not part(i - 1):
                continue
            end_tok = i + 1
            while end_tok + 2 < count and toks[end_tok + 1].norm in ("slash", "/") and part(
                    end_tok + 2):
                end_tok += 2
                while end_tok + 2 < count and toks[end_tok + 1].norm in _EMAIL_JOIN and part(
                        end_tok + 2):
                    end_tok += 2
                while (end_tok + 1 < count and toks[end_tok + 1].is_digits) or (
                        end_tok + 1 < count and read_element(toks, end_tok + 1) is not None
                        and read_element(toks, end_tok) is not None):
                    end_tok += 1
            domain_start = chain_back(i - 1)
            at = domain_start - 1
            if at >= 1 and toks[at].norm in ("at", "@") and part(at - 1):
                k = chain_back(at - 1)
                # "harold five eight at ...": digits said after the name belong to it
                while k >= 1 and (toks[k].is_digits or read_element(toks, k) is not None) and (
                        part(k - 1)):
                    k = chain_back(k - 1)
                if toks[k].norm in _FUNCTION and k < at - 1:
                    k += 1
                if toks[k].norm not in _FUNCTION:
                    found.append(_Found(toks[k].start, toks[end_tok].end, Label.EMAIL, 9))
                continue
            start_tok = domain_start
            if toks[start_tok].norm in _FUNCTION and start_tok < i - 1:
                start_tok += 2
            found.append(_Found(toks[start_tok].start, toks[end_tok].end, Label.URL, 8))

    def _spoken_ips(self, toks: list[Token], runs: list[NumberRun], found: list[_Found]) -> None:
        for a in range(len(runs) - 3):
            group = runs[a : a + 4]
            if all(
                nxt.first == cur.last + 2 and toks[cur.last + 1].norm == "dot"
                for cur, nxt in itertools.pairwise(group)
            ) and all(len(r.digits) <= 3 and int(r.digits) <= 255 for r in group):
                found.append(_Found(group[0].start, group[3].end, Label.IP_ADDRESS, 9))

    def _alnum(self, toks: list[Token], asked: set[Label], found: list[_Found]) -> None:
        """Identifiers said as letters and digits mixed ("x j h four five six", "two v h two
        dash l d five")."""
        count = len(toks)
        i = 0
        while i < count:
            elements: list[tuple[str, int, int]] = []  # (kind, first, last)
            j = i
            while j < count:
                n = toks[j].norm
                if elements and (n in ("-", ",", "dash", "hyphen") or n in FILLERS):
                    j += 1
                    continue
                element = read_element(toks, j)
                if element is not None and not (n in ("o",) and elements and elements[-1][0] == "L"
                                                 and False):
                    if element[2]:
                        break  # a quantity ("two hundred") is not part of an identifier
                    elements.append(("D", j, j + element[1] - 1))
                    j += element[1]
                    continue
                if len(n) == 1 and toks[j].is_word:
                    elements.append(("L", j, j))
                    j += 1
                    continue
                break
            while elements and elements[0][0] == "L" and toks[elements[0][1]].norm in ("a", "i"):
                elements.pop(0)
            while elements and elements[-1][0] == "L" and toks[elements[-1][1]].norm in ("a", "i"):
                elements.pop()
            letters = sum(1 for k, f, _ in elements if k == "L" and toks[f].norm not in "aio")
            digits = sum(1 for k, f, _ in elements if k == "D" and toks[f].norm not in ("o", "oh"))
            if len(elements) >= 4 and letters >= 1 and digits >= 1:
                first, last = elements[0][1], elements[-1][2]
                cue = self._cue_before(toks, first) or _single(asked)
                label = cue if cue not in (None, Label.DATE, Label.PHONE, Label.ADDRESS, Label.EMAIL,  # noqa: E501
                                           Label.URL, Label.FAX) else Label.OTHER_ID
                found.append(_Found(toks[first].start, toks[last].end, label or Label.OTHER_ID, 7))
                i = last + 1
            else:
                i = max(i + 1, j if j > i and not elements else i + 1)

    # ---- dates and ages --------------------------------------------------------------------

    def _dates(self, text: str, toks: list[Token], runs: list[NumberRun], asked: set[Label],
               known: KnownIdentifiers, found: list[_Found]) -> None:
        for value, start, end in dates_in_tokens(toks, text):
            first = text[start:end].split(maxsplit=1)[0].lower().strip(",")
            if first == "may" and value.day is None:
                continue
            found.append(_Found(start, end, Label.DATE, 8))
        for i in range(1, len(toks) - 1):
            if toks[i].norm == "the" and toks[i - 1].norm in ("on", "by", "until", "before",
                                                            "after", "for"):
                day = _day_ordinal(toks, i + 1)
                if day is not None:
                    end = i + day
                    nxt = toks[end + 1].norm if end + 1 < len(toks) else ""
                    if nxt not in _ORDINAL_NOUNS:
                        found.append(_Found(toks[i].start, toks[end].end, Label.DATE, 7))
        for run in runs:
            if len(run.digits) < 4:
                continue
            cue = self._cue_before(toks, run.first)
            wants_date = cue == Label.DATE or (cue is None and Label.DATE in asked)
            digits_date = date_from_digits(run)
            if digits_date is None:
                continue
            dob = known.dob
            if wants_date or (dob is not None and digits_date.as_date() == dob):
                found.append(_Found(run.start, run.end, Label.DATE, 8))

    # ---- addresses -------------------------------------------------------------------------

    def _is_state_at(self, toks: list[Token], i: int) -> int:
        """Tokens used by a state name at ``i`` (0 when none)."""
        if i >= len(toks):
            return 0
        if toks[i].norm in _STATES:
            return 1
        if toks[i].text in _STATE_CODES and toks[i].text.isupper() and len(toks[i].text) == 2:
            return 1
        if i + 1 < len(toks) and (toks[i].norm, toks[i + 1].norm) in _STATE_PAIRS:
            return 2
        return 0

    def _addresses(self, toks: list[Token], runs: list[NumberRun], found: list[_Found]) -> None:  # noqa: PLR0912
        run_by_last = {run.last: run for run in runs}
        run_by_first = {run.first: run for run in runs}
        count = len(toks)
        for i, tok in enumerate(toks):
            n = tok.norm
            if n in _STREET_SUFFIXES and i >= 2:
                if n in ("st", "dr", "ct", "pl", "ter") and i + 1 < count and toks[i + 1].is_word \
                        and self._lex.is_name(toks[i + 1].norm) and n == "dr":
                    continue
                # house number, then one to four street-name words
                start_run = None
                for back in range(1, 6):
                    k = i - back
                    if k < 0:
                        break
                    if k in run_by_last and back >= 2:
                        start_run = run_by_last[k]
                        break
                    if toks[k].norm in _FUNCTION:
                        break
                    if not toks[k].is_word and not toks[k].is_digits \
                            and toks[k].norm != ".":
                        break
                if start_run is None:
                    continue
                end = i
                if end + 1 < count and toks[end + 1].norm == ".":
                    end += 1
                end = self._extend_address(toks, end, run_by_first)
                found.append(_Found(start_run.start, toks[end].end, Label.ADDRESS, 8))
            elif n in ("po", "p") and i + 2 < count:
                j = i + 1
                while j < count and toks[j].norm in (".", "o"):
                    j += 1
                if j < count and toks[j].norm == "box" and j + 1 in run_by_first:
                    end = self._extend_address(toks, run_by_first[j + 1].last, run_by_first)
                    found.append(_Found(tok.start, toks[end].end, Label.ADDRESS, 8))
        self._cities(toks, run_by_first, found)
        for i in range(1, count):
            if toks[i].norm in ("county", "parish") and toks[i - 1].is_word and toks[
                    i - 1].norm not in _FUNCTION:
                found.append(_Found(toks[i - 1].start, toks[i].end, Label.ADDRESS, 6))

    def _extend_address(self, toks: list[Token], end: int, run_by_first: dict[int, NumberRun]  # noqa: PLR0912
                        ) -> int:
        """Past the street: unit, city, state and ZIP, as far as they go."""
        count = len(toks)
        j = end + 1
        if j < count and toks[j].norm == ",":
            j += 1
        if j < count and toks[j].norm in _UNIT_WORDS:
            k = j + 1
            if k < count and toks[k].norm in ("number", "#"):
                k += 1
            if k in run_by_first:
                end = run_by_first[k].last
                if end + 1 < count and len(toks[end + 1].norm) == 1 and toks[end + 1].is_word \
                        and toks[end + 1].norm not in ("a", "i"):
                    end += 1
            elif k < count and (len(toks[k].norm) <= 3 and toks[k].norm.isalnum()):
                end = k
            j = end + 1
            if j < count and toks[j].norm == ",":
                j += 1
        # city words then a state
        for width in (1, 2, 3):
            k = j + width
            if k > count:
                break
            if any(not toks[x].is_word or toks[x].norm in _FUNCTION for x in range(j, k)):
                break
            skip = k + 1 if k < count and toks[k].norm == "," else k
            state = self._is_state_at(toks, skip)
            if state:
                end = skip + state - 1
                z = end + 1
                if z < count and toks[z].norm == ",":
                    z += 1
                if z in run_by_first and len(run_by_first[z].digits) in (5, 9):
                    end = run_by_first[z].last
                return end
        state = self._is_state_at(toks, j)
        if state:
            z = j + state
            if z < count and toks[z].norm == ",":
                z += 1
            if z in run_by_first and len(run_by_first[z].digits) in (5, 9):
                return run_by_first[z].last
        if j in run_by_first and len(run_by_first[j].digits) in (5, 9):
            return run_by_first[j].last
        for width in (1, 2):
            k = j + width
            if k in run_by_first and len(run_by_first[k].digits) in (5, 9) and all(
                    toks[x].is_word and toks[x].norm not in _FUNCTION for x in range(j, k)):
                return run_by_first[k].last
        if j < count and toks[j].norm == "in" and j + 1 < count and toks[j + 1].is_word and (
                not self._lex.is_word(toks[j + 1].norm) or toks[j + 1].text[:1].isupper()):
            end = j + 1
            if end + 1 < count and toks[end + 1].is_word and toks[end + 1].text[:1].isupper():
                end += 1
        return end

    def _cities(self, toks: list[Token], run_by_first: dict[int, NumberRun],
                found: list[_Found]) -> None:
        count = len(toks)
        norms = [t.norm for t in toks]
        for i in range(count):
            for cue in _CITY_CUES:
                w = len(cue)
                if tuple(norms[i : i + w]) != cue:
                    continue
                j = i + w
                end = j - 1
                while end + 1 < count and end + 1 - j < 3 and toks[end + 1].is_word and (
                    norms[end + 1] not in _FUNCTION and not self._is_state_at(toks, end + 1)
                    and (not self._lex.is_word(norms[end + 1]) or toks[end + 1].text[:1].isupper()
                         or self._lex.is_name(norms[end + 1]) or norms[end + 1] in (
                             "city", "springs", "falls", "beach", "heights", "park", "valley",
                             "lake", "saint", "san", "los", "new", "north", "south", "east",
                             "west", "port", "fort", "mount"))
                ):
                    end += 1
                if end >= j:
                    stop = end
                    k = end + 1
                    if k < count and norms[k] == ",":
                        k += 1
                    state = self._is_state_at(toks, k)
                    if state:
                        z = k + state
                        if z < count and norms[z] == ",":
                            z += 1
                        if z in run_by_first and len(run_by_first[z].digits) == 5:
                            stop = run_by_first[z].last
                    found.append(_Found(toks[j].start, toks[stop].end, Label.ADDRESS, 6))

    # ---- digit runs ------------------------------------------------------------------------

    def _cue_before(self, toks: list[Token], first: int, reach: int = 9) -> Label | None:
        lo = max(0, first - reach)
        parts: list[str] = []
        for k in range(first - 1, lo - 1, -1):
            n = toks[k].norm
            if n in (".", "?", "!", ";"):
                break
            parts.append(n)
        window = " ".join(reversed(parts))
        window = _SPELLED_RE.sub(lambda m: m.group().replace(" ", ""), window)
        got = cues.closest_cue(window)
        return got[0] if got else None

    def _numbers(self, text: str, toks: list[Token], runs: list[NumberRun],
                 letters: list[LetterRun], asked: set[Label], known: KnownIdentifiers,
                 found: list[_Found]) -> None:
        known_phones = {re.sub(r"\D", "", p)[-10:] for p in known.phones}
        letters_by_last = {run.last: run for run in letters}
        letters_by_first = {run.first: run for run in letters}
        count = len(toks)
        for run in runs:
            digits = run.digits
            after = toks[run.last + 1].norm if run.last + 1 < count else ""
            before = toks[run.first - 1].norm if run.first > 0 else ""
            if self._age(toks, run, before, after, found):
                continue
            cue = self._cue_before(toks, run.first)
            if cue is None and run.first <= 6:
                asked_ids = asked - {Label.NAME}
                if len(asked_ids) == 1:
                    cue = next(iter(asked_ids))
            if digits[-10:] in known_phones and len(digits) >= 10:
                found.append(_Found(run.start, run.end, Label.PHONE, 8))
                continue
            if before == "$" or after in ("dollars", "dollar", "bucks", "cents", "point") or (
                    "." in text[run.start : run.end] and len(run.groups[-1]) == 2
                    and len(run.groups) == 2):
                continue
            if after in _UNITS_AFTER or after in ("%", ":"):  # noqa: SIM102
                if cue is None or len(digits) < 4 or after in ("mg", "milligrams", "dollars"):
                    continue
            start, end = run.start, run.end
            # letters said next to the digits belong to the same identifier ("a b c 1 2 3")
            if run.first - 1 in letters_by_last:
                start = letters_by_last[run.first - 1].start
            if run.last + 1 in letters_by_first:
                end = letters_by_first[run.last + 1].end
            label = self._label_digits(run, cue, before)
            if label is not None:
                found.append(_Found(start, end, label, 7 if cue else 5))

    def _label_digits(self, run: NumberRun, cue: Label | None, before: str) -> Label | None:  # noqa: PLR0911
        digits = run.digits
        n = len(digits)
        if cue is Label.DATE:
            return None  # read as a date above or not at all
        if cue is not None and cue not in (Label.EMAIL, Label.URL):
            if cue is Label.ADDRESS:
                return Label.ADDRESS if n in (5, 9) else None
            if cue is Label.SSN:
                return Label.SSN if n in (4, 9) else None
            if cue in (Label.PHONE, Label.FAX):
                return cue if n >= 7 else None
            if run.quantity and n < 6:
                return None
            return cue if n >= 3 else None
        if run.quantity or (before in _BEFORE_NOT_ID and n < 10):
            return None
        if n >= 10 and (n <= 11 or digits.startswith("1")):
            return Label.PHONE
        if n == 9 and run.groups and len(run.groups) >= 3 and len(run.groups[0]) == 3:
            return Label.SSN
        if (n == 7 and not run.spoken) or (n == 7 and len(run.groups) >= 5):
            return Label.PHONE
        if n >= 6 and not (n == 8 and run.groups and len(run.groups) <= 2):
            return Label.OTHER_ID
        return None

    def _age(self, toks: list[Token], run: NumberRun, before: str, after: str,
             found: list[_Found]) -> bool:
        if len(run.digits) > 3:
            return False
        value = int(run.digits)
        if not 90 <= value <= 125:
            return False
        years_old = after in ("years", "year", "yrs", "yo") or (after == "-" and run.last + 2 < len(
            toks) and toks[run.last + 2].norm == "year")
        if before in ("is", "was") and after in ("", "and", ",", ".") and any(
                toks[k].norm in _PERSON_WORDS for k in range(max(0, run.first - 5), run.first)):
            before = "age"
        if years_old or (before in _AGE_BEFORE and after not in _UNITS_AFTER and after not in (
                "point", "over", "percent", "degrees")):
            end = run.end
            if years_old and run.last + 2 < len(toks) and toks[run.last + 2].norm == "old":
                end = toks[run.last + 2].end
            found.append(_Found(run.start, end, Label.AGE, 7))
            return True
        return False

    # ---- spelled letters -------------------------------------------------------------------

    def _letters(self, toks: list[Token], letters: list[LetterRun], asked: set[Label],
                 found: list[_Found]) -> None:
        for run in letters:
            word = run.letters
            plain = word.replace("a", "").replace("i", "")
            if len(word) < 3 or len(plain) < 2 or word in _ACRONYMS:
                continue
            if len(word) <= 3 and word in ("abc", "xyz"):
                continue
            cue = self._cue_before(toks, run.first)
            if cue is None and Label.NAME not in asked and len(asked) == 1:
                cue = next(iter(asked))
            label = cue if cue not in (None, Label.DATE, Label.PHONE, Label.ADDRESS) else Label.NAME
            found.append(_Found(run.start, run.end, label or Label.NAME, 6))

    # ---- names -----------------------------------------------------------------------------

    def _known_name_parts(self, known: KnownIdentifiers) -> list[str]:
        parts: list[str] = []
        for name in known.names:
            for part in re.split(r"[\s-]+", name):
                clean = _letters_only(part)
                if len(clean) >= 2:
                    parts.append(clean)
        return parts

    def _matches_known(self, word: str, parts: list[str]) -> bool:
        if len(word) < 3:
            return False
        for part in parts:
            if word == part:
                return True
            if len(part) >= 4 and JaroWinkler.similarity(word, part) >= 0.88 and (
                word[0] == part[0]
            ):
                return True
            if len(part) >= 4 and jellyfish.metaphone(word) == jellyfish.metaphone(part):
                return True
        return False

    def _names(self, text: str, toks: list[Token], asked: set[Label], known: KnownIdentifiers,  # noqa: PLR0912, PLR0915
               found: list[_Found]) -> None:
        lex = self._lex
        count = len(toks)
        norms = [t.norm for t in toks]
        taken = _covered(found)
        parts = self._known_name_parts(known)
        mixed_case = any(c.isupper() for c in text[1:]) and not text.isupper()

        def free(k: int) -> bool:
            return toks[k].start not in taken and toks[k].is_word

        def strong_cue(k: int) -> bool:
            for w, group in _STRONG_BY_LEN:
                if k - w >= 0 and tuple(norms[k - w : k]) in group:
                    return True
            return k >= 2 and norms[k - 1] == "." and norms[k - 2] in ("mr", "mrs", "ms", "dr")

        def weak_cue(k: int) -> bool:
            for w, group in _WEAK_BY_LEN:
                if k - w >= 0 and tuple(norms[k - w : k]) in group:
                    return True
            return k >= 2 and norms[k - 1] == "'" and norms[k - 2] in ("it", "name", "i")

        def capital(k: int) -> bool:
            return mixed_case and toks[k].text[:1].isupper() and k > 0 and norms[k - 1] not in (
                ".", "?", "!") and toks[k].norm != "i"

        def oov(k: int) -> bool:
            n = norms[k]
            return len(n) >= 3 and n.replace("'", "").isalpha() and not lex.is_word(n) and \
                not lex.is_word(n.replace("'", "")) and n not in MONTHS and \
                n not in _FUNCTION

        def namey(k: int) -> bool:
            n = norms[k]
            return lex.is_plain_name(n) or self._matches_known(n, parts) or (
                lex.is_name(n) and capital(k))

        answer_start = -1
        if Label.NAME in asked:
            k = 0
            while k < count and (norms[k] in ("yes", "yeah", "yep", "sure", "ok", "okay", "it's",
                                              "its", "it", "'", "s", "uh", "um", "this", "is",
                                              "my", "name", "i'm", "im", "i", "am", ",", ".")):
                k += 1
            answer_start = k

        i = 0
        while i < count:
            if not free(i) or (norms[i] in _FUNCTION and not (i == answer_start and capital(i))) or (  # noqa: E501
                    norms[i] in _ACRONYMS or (toks[i].text.isupper() and len(norms[i]) <= 4
                    and not lex.is_name(norms[i]))):
                i += 1
                continue
            n = norms[i]
            is_month_date = n in MONTHS and i + 1 < count and (
                toks[i + 1].is_digits or toks[i + 1].start in taken)
            if is_month_date:
                i += 1
                continue
            start_ok = False
            strong = strong_cue(i) or i == answer_start
            if strong:
                start_ok = lex.is_name(n) or oov(i) or capital(i) or not lex.is_word(n)
            if not start_ok and weak_cue(i):
                start_ok = namey(i) or oov(i)
            if not start_ok and namey(i) and not (n in MONTHS and not capital(i)):
                start_ok = True
                if len(n) <= 3 and not capital(i) and not self._matches_known(n, parts):
                    start_ok = i + 1 < count and free(i + 1) and (lex.is_name(norms[i + 1])
                                                                  or oov(i + 1))
            if not start_ok and lex.is_name(n) and i + 1 < count and free(i + 1) and (
                    lex.is_plain_name(norms[i + 1]) and norms[i + 1] in lex.surnames
                    and n in lex.first_names and n not in MONTHS):
                start_ok = not lex.is_word(norms[i + 1]) or norms[i + 1] in lexicon.NAME_DOMINANT
            if not start_ok and oov(i) and (n in lex.surnames or (i + 1 < count and norms[
                    i + 1] in ("here", "speaking")) or (mixed_case and toks[i].text[:1].isupper()
                    and i + 1 < count and toks[i + 1].text[:1].isupper() and toks[i + 1].is_word)):
                start_ok = True
            if not start_ok:
                i += 1
                continue
            end = i
            while end + 1 < count and end - i < 3 and free(end + 1):
                m = norms[end + 1]
                if m in _FUNCTION or m in MONTHS:
                    break
                if lex.is_plain_name(m) or oov(end + 1) or self._matches_known(m, parts) or (
                        lex.is_name(m) and (capital(end + 1) or i == answer_start)) or (
                        len(m) == 1 and end + 2 < count and norms[end + 2] == "."):
                    end += 1
                    if norms[end] != "." and end + 1 < count and norms[end + 1] == "." and len(
                            m) == 1:
                        end += 1
                    continue
                if strong and lex.is_name(m):
                    end += 1
                    continue
                break
            found.append(_Found(toks[i].start, toks[end].end, Label.NAME, 4))
            i = end + 1
        self._employers(toks, norms, taken, found)

    def _employers(self, toks: list[Token], norms: list[str], taken: set[int],
                   found: list[_Found]) -> None:
        count = len(toks)
        for i in range(count):
            for cue in cues.EMPLOYER_CUES:
                w = len(cue)
                if tuple(norms[i : i + w]) != cue:
                    continue
                j = i + w
                if j < count and norms[j] == "the":
                    j += 1
                end = j - 1
                while end + 1 < count and end + 1 - j < 4 and toks[end + 1].is_word and (
                        norms[end + 1] not in _FUNCTION):
                    end += 1
                if end >= j and not all(norms[k] in _GENERIC_PLACES for k in range(j, end + 1)):
                    found.append(_Found(toks[j].start, toks[end].end, Label.NAME, 5))

    # ---- resolution ------------------------------------------------------------------------

    def _resolve(self, text: str, found: list[_Found]) -> list[Span]:
        ordered = sorted(found, key=lambda f: (-f.priority, -(f.end - f.start), f.start))
        kept: list[_Found] = []
        for cand in ordered:
            if cand.end <= cand.start:
                continue
            if any(cand.start < k.end and k.start < cand.end for k in kept):
                continue
            kept.append(cand)
        kept.sort(key=lambda f: f.start)
        merged: list[_Found] = []
        for cur in kept:
            if merged and merged[-1].label == cur.label and cur.label in (
                Label.NAME, Label.ADDRESS
            ) and text[merged[-1].end : cur.start].strip(" ,") == "":
                merged[-1].end = cur.end
                continue
            merged.append(_Found(cur.start, cur.end, cur.label, cur.priority))
        return [Span(f.start, f.end, f.label, text[f.start : f.end]) for f in merged]


_STRONG_BY_LEN = tuple(
    (w, frozenset(c for c in cues.STRONG_NAME_CUES if len(c) == w)) for w in range(1, 4)
)
_WEAK_BY_LEN = tuple(
    (w, frozenset(c for c in cues.NAME_CUE_PHRASES if len(c) == w)) for w in range(1, 6)
)
_GENERIC_PLACES = frozenset({"home", "night", "nights", "school", "work", "hospital", "clinic",
                             "store", "office", "restaurant", "factory", "warehouse", "bank",
                             "church", "daycare", "farm", "mall", "shop", "gym", "plant"})
_SPELLED_RE = re.compile(r"\b[a-z](?: [a-z]\b)+")
_ORDINAL_NOUNS = frozenset(
    _words(
        """
        floor time times dose doses shift one ones try attempt day week visit page row step
        round line option choice appointment opening slot month year refill door building
        """
    )
)


def _single(asked: set[Label]) -> Label | None:
    """The one thing the agent asked for, when it asked for one identifier."""
    ids = asked - {Label.NAME, Label.DATE}
    return next(iter(ids)) if len(ids) == 1 else None


def _day_ordinal(toks: list[Token], i: int) -> int | None:
    """Tokens used by an ordinal day of month at ``i`` ("second", "thirty first", "5th")."""
    if i >= len(toks):
        return None
    n = toks[i].norm
    if n in ("twenty", "thirty") and i + 1 < len(toks) and toks[i + 1].norm in ORDINALS:
        return 2 if TENS[n] + ORDINALS[toks[i + 1].norm] <= 31 else None
    if (n in ORDINALS and n != "second") or n == "second":
        return 1
    if n[:1].isdigit() and n[-2:] in ("st", "nd", "rd", "th") and n[:-2].isdigit():
        return 1 if 1 <= int(n[:-2]) <= 31 else None
    return None


def _letters_only(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word)
    return "".join(c for c in folded.lower() if c.isalpha())


def _covered(found: list[_Found]) -> set[int]:
    """Start offsets of every character already claimed by a non-name span."""
    taken: set[int] = set()
    for f in found:
        taken.update(range(f.start, f.end))
    return taken
