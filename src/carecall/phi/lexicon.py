"""Word lists: first names, surnames, ordinary English words, and the names that are words.

The name lists are the US Census Bureau's 1990 frequency files (public domain; shipped by the
PyPI package ``names``), the word list SCOWL's american-english (Debian ``wamerican``). They
were turned into the ``data/*.txt`` files once; they are read here, once per process, in
about 30 ms.

A name that is also an ordinary word ("may", "will", "bill", "grace", "hill") is *ambiguous*:
it counts as a name only next to a cue, a title, a capital letter or another name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())

COMMON_WORD_NAMES = frozenset(
    _words(
        """
        may will bill grace mark june april art rose faith hope joy sue pat dawn august
        summer autumn winter spring penny ruby amber crystal ivy lily daisy holly iris pearl
        opal hazel ginger olive violet sandy rocky rusty dusty misty candy brandy sherry
        destiny charity patience prudence honor justice chase hunter grant drew frank rich
        jack mike bob buck buddy guy max ray gene earl dean dale glen glenn don lance rod
        rob nick sonny junior chance major king prince noble royal young long white brown
        green black gray grey hill hall wood woods stone rice price park parks day days best
        case good law lord small short strong love wise key head house church cash quick
        self field fields blue man son brain numbers manual hung sang sung forest golden
        sweet bright cross page ball bell cook banks mills waters rivers weeks bishop little
        frost snow lane ward fox moon rush pace wall walls glass fry bean branch cherry
        sharp moss farmer potter barber baker cooper turner walker miller carpenter weaver
        fisher hunt mason porter tucker butler carter foster booth marsh brooks waters wells
        reed gates bird beach lake hood horn bass pike camp craft cotton fuller cannon
        savage pope bush hardy curry power powers person parson gross gay free freeman coy
        lacy sterling marina melody carol angel sunny sky storm rain river patient doctor
        nurse office care
        """
    )
)
"""Names that are common words in a healthcare call; hand-picked, not generated."""

NAME_DOMINANT = frozenset(
    _words(
        """
        john peter roger terry harry billy randy bobby victor martin jimmy tony chad lee
        troy jay tom warren derrick hector rick brad ken wade homer matt ed robin noel josh
        mickey chuck jasper curt smith wright rogers cox sanders griffin ford hicks burns
        knight pierce hart sims peters wheeler lynch welch bowman brewer bates hale beck
        barker chandler reeves garner manning newton stokes gill parsons drake hogan collier
        davenport sawyer morrow combs dyer grimes shepherd garrison bullock johns tanner
        gentry sexton hull browning sellers herring valentine berg peck gamble petty carver
        bray hopper stein bender crane sears wilder holder stark levy duke snider hays pate
        madden finch franks downs foreman rouse arroyo archer swain proctor helms
        chamberlain downing harden gibbons hickey steward nix emery crouch lam arias roe
        dickey piper hatch fink billings givens smiley ricks dodge trotter stiles gee joiner
        lackey stringer keen stern woody weir eddy khan shaver chin staples busby gage dowdy
        hanks shearer goldsmith smalls hinds rector dykes barrios tang parish burrows
        squires storey medley shah baron barney lopes craven ogle wagoner nobles harms pease
        warden maria carol heather bonnie sally colleen patsy rosemary margarita hank waldo
        """
    )
)
"""Names found in the dictionary that a caller almost always means as names."""

NOT_NAMES = frozenset(
    _words(
        """
        ok okay im ive id ill dont doesnt didnt cant wont isnt thats whats youre theyre were
        hes shes its lets yeah yep nope hi hey bye mhm uh um er ah the and my to in an do so
        see
        """
    )
)
"""Speech-to-text spellings without apostrophes and fillers, which are never names."""

COMMON_PROPER = frozenset(
    _words(
        """
        english spanish french german italian portuguese russian chinese mandarin cantonese
        japanese korean vietnamese tagalog filipino arabic hindi urdu punjabi bengali polish
        haitian creole somali amharic farsi persian swahili hmong american african asian
        european hispanic latino latina mexican canadian
        monday tuesday wednesday thursday friday saturday sunday christmas easter hanukkah
        passover ramadan thanksgiving halloween juneteenth
        medicare medicaid tricare obamacare covid tylenol advil motrin aleve benadryl
        walmart walgreens costco kroger safeway publix target cvs google facebook youtube
        instagram zoom facetime whatsapp uber lyft fedex ups usps mychart epic
        """
    )
)
"""Proper nouns every caller uses that are not personal (languages, days, holidays, programs,
shops, apps): known words, so rules for unknown words leave them alone."""



COMMON_SURNAMES = 1000
"""How many of the most frequent surnames count as common (the list is in frequency order)."""


@dataclass(frozen=True, slots=True)
class Lexicon:
    first_names: frozenset[str]
    surnames: frozenset[str]
    words: frozenset[str]
    ambiguous: frozenset[str]
    common_surnames: frozenset[str] = frozenset()
    """The most frequent surnames, where a surname that is also a word ("brown", "white",
    "price") is more likely the surname after a first name than the word."""

    def is_name(self, word: str) -> bool:
        return word in self.first_names or word in self.surnames

    def is_plain_name(self, word: str) -> bool:
        """A name that cannot be mistaken for an ordinary word."""
        return (word in self.first_names or word in self.surnames) and word not in self.ambiguous

    def is_word(self, word: str) -> bool:
        return word in self.words


def _read(name: str) -> list[str]:
    text = resources.files("carecall.phi").joinpath("data", name).read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line and not line.startswith("#")]


@cache
def load() -> Lexicon:
    first = _read("first_names.txt")
    last = _read("surnames.txt")
    words = frozenset(_read("english_words.txt"))
    # a name that is also a dictionary word is ambiguous unless hand-listed as mostly a name
    generated = {w for w in (*first, *last) if (w in words or w in COMMON_PROPER) and (
        w not in NAME_DOMINANT)}
    short = {w for w in (*first, *last) if len(w) <= 2}
    return Lexicon(
        first_names=frozenset(first),
        surnames=frozenset(last),
        words=words | NOT_NAMES | COMMON_PROPER,
        ambiguous=frozenset(generated) | COMMON_WORD_NAMES | short | NOT_NAMES,
        common_surnames=frozenset(last[:COMMON_SURNAMES]),
    )
