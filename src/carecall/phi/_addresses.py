"""Addresses: every geographic unit smaller than a state (45 CFR 164.514(b)(2)(i)(B)).

A street address runs from the house number over the street name and suffix, then takes in
what follows it as far as it goes: unit ("apartment four b", "suite 300"), city, state and
ZIP ("02139", "02139-4307", "oh two one three nine"). Cities are also found after "I live in",
"I moved to", after a street ("... elm street in Dayton") and before "county". A state alone
is not PHI and is never flagged.
"""

from __future__ import annotations

from carecall.phi import cues
from carecall.phi._scan import Scan
from carecall.phi._vocab import FUNCTION, UNITS_AFTER, words
from carecall.phi.model import Label
from carecall.phi.spoken import MONTHS, ORDINALS, TEENS, TENS, UNITS

STREET_SUFFIXES = words(
    """
    street st avenue ave road rd drive dr lane ln boulevard blvd court ct way place pl circle
    cir terrace ter terr parkway pkwy pky highway hwy trail trl square sq loop row alley pike
    crescent cres close crt expressway expy freeway fwy plaza plz
    """
)
_SOFT_SUFFIXES = words(
    """
    run hollow point pt bend crossing xing path heights hts green glen vista view ridge landing
    cove commons knoll meadow meadows pass trace chase creek springs park grove hill hills manor
    estates walk bluff bluffs harbor harbour mews oval
    """
)
"""Street types that are also ordinary words: a street only after a house number."""
_ADDRESS_CUES: tuple[tuple[str, ...], ...] = tuple(
    tuple(c.split())
    for c in (
        "address is", "address", "live at", "lives at", "living at", "i'm at", "im at",
        "we're at", "were at", "she's at", "he's at", "they're at", "staying at", "stay at",
        "send it to", "mail it to", "deliver to", "deliver it to", "ship it to", "located at",
        "home is", "house is", "moved to", "address on file is", "it's at", "its at",
    )
)
_ADDRESS_CUES_BY_LAST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _ADDRESS_CUES:
    _ADDRESS_CUES_BY_LAST.setdefault(_cue[-1], []).append(_cue)
_HOUSE_DIGITS_MAX = 6
_CLAUSE_MARKS = frozenset({",", ";", ":"})
_STREET_FIRST = words("calle avenida camino paseo rue")
"""Street types said before the name ("Calle Las Flores")."""
_STREET_LINKS = words("de del la las los el")
_STREET_WORDS_MAX = 3
_UNIT_WORDS = words("apartment apt unit suite ste # number building bldg floor fl flr lot room "
                    "rm space spc trailer trlr box")
_DIRECTIONS = words("n s e w ne nw se sw north south east west northeast northwest southeast "
                    "southwest")
_UNITS_ALONE = words("apartment apt suite ste unit")
_MAILBOX_WORDS = words("pmb box")
_OFFICE_UNITS = words("suite ste")
"""Suites are mostly offices ("the lab is suite 200"): one on its own is an address only
after an address cue or the agent's question."""
STATES = words(
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia
    hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
    pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
    """
)
COUNTRIES = words(
    """
    america usa canada mexico germany france italy spain portugal ireland england scotland wales
    britain poland ukraine russia greece turkey israel egypt nigeria ghana kenya ethiopia india
    pakistan bangladesh china japan korea vietnam philippines thailand singapore malaysia
    indonesia australia brazil argentina colombia peru chile venezuela cuba haiti jamaica
    guatemala honduras salvador nicaragua somalia iran iraq syria lebanon sweden norway
    denmark finland netherlands belgium switzerland austria hungary romania taiwan
    """
)
"""Countries: larger than a state, so never PHI, and never a person's name."""
_STATE_PAIRS = frozenset({("new", "hampshire"), ("new", "jersey"), ("new", "mexico"),
                          ("new", "york"), ("north", "carolina"), ("north", "dakota"),
                          ("south", "carolina"), ("south", "dakota"), ("west", "virginia"),
                          ("rhode", "island")})
_STATE_CODES = words(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC
    """
)
_STATE_STARTS = STATES | {code.lower() for code in _STATE_CODES} | {a for a, _ in _STATE_PAIRS}
_CODE_WORDS = words("in me or ok hi oh la de pa ma al co id")
"""State codes that are also words; written in capitals they still end an address with a ZIP."""
_CITY_CUES: tuple[tuple[str, ...], ...] = tuple(
    tuple(c.split())
    for c in (
        "live in", "lives in", "living in", "lived in", "live over in", "live out in",
        "moved to", "moving to", "move to", "moved here from", "located in", "city of",
        "town of", "reside in", "resides in", "residing in", "stay in", "staying in",
        "house in", "home in", "apartment in", "grew up in", "born in", "based in",
        "village of", "clinic in", "office in", "pharmacy in", "hospital in",
        "over in", "out in", "up in", "down in", "back in", "i'm in", "we're in", "im in",
        "were in", "moved from", "moving from", "relocated to", "relocated from", "i'm from",
        "we're from", "originally from", "lives over in", "lives out in", "living out in",
        "commute from", "drive from", "driving from", "coming from", "all the way from",
        "up from", "down from", "over from", "in from", "flying from", "flew in from",
        "near", "outside of", "just outside", "north of", "south of", "east of", "west of",
    )
)
_CITY_CUES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _CITY_CUES:
    _CITY_CUES_BY_FIRST.setdefault(_cue[0], []).append(_cue)
_CITY_PREFIX = words("saint st san santa los las new north south east west port fort mount "
                     "mt ft lake el la")
_ABBREVIATED_PREFIX = words("st ft mt pt")
_CITY_SUFFIX = words("city springs falls beach heights park valley lake hills grove creek "
                     "harbor village center point ridge rapids rock bay bluff bluffs haven mills "
                     "junction forks shores plains lakes woods")
_NOT_PLACE = words(
    """
    county state area town city hospital clinic office pharmacy house home apartment country
    region neighborhood community building facility place there here
    """
)
_RESIDENCE_VERBS = words("live lives living lived moved moving move reside resides residing "
                         "stay stays staying")
_STREET_PREPOSITIONS = words("on off onto along")
_NOT_COUNTY = words("next same other neighboring neighbouring whole different another every "
                    "each local nearby adjacent surrounding home entire")
_ROAD_WORDS = words("route rte highway hwy interstate road rd")
"""A road known by its number ("Route 9", "County Road 12", "Highway 50")."""
_NOT_PLACE_VERBS = words("log logged logging sign signed signing check checked enrolled enroll "
                         "type typed put entered")
_PLACE_MIN = 3
_TIME_WORDS = words("last next this since ago yesterday tomorrow recently lately originally "
                    "area with")
_NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | {
    "hundred", "thousand", "double", "triple"}
_ZIP_LENGTHS = (5, 9)
_ASK_REACH = 3
_CITY_WORDS_MAX = 3


def _state_at(scan: Scan, i: int) -> int:
    """Tokens used by a state name or two-letter code at ``i`` (0 when none)."""
    n = scan.norm(i)
    if not n:
        return 0
    if n in STATES:
        return 1
    if scan.toks[i].text in _STATE_CODES:
        return 1
    if (n, scan.norm(i + 1)) in _STATE_PAIRS:
        return 2
    return _dotted_code(scan, i)


def _dotted_code(scan: Scan, i: int) -> int:
    """"D.C.", "N.M.": a state code written with full stops (tokens used, 0 when none)."""
    toks = scan.toks
    if i + 2 >= scan.count or len(toks[i].text) != 1 or not toks[i].text.isupper():
        return 0
    if toks[i + 1].text != "." or len(toks[i + 2].text) != 1 or toks[i + 2].start != toks[
            i + 1].end or toks[i].text + toks[i + 2].text not in _STATE_CODES:
        return 0
    return 4 if scan.norm(i + 3) == "." and toks[i + 3].start == toks[i + 2].end else 3


def _zip_at(scan: Scan, i: int) -> int | None:
    """Last token of a ZIP or ZIP+4 starting at ``i``."""
    run = scan.run_from.get(i)
    return run.last if run is not None and len(run.digits) in _ZIP_LENGTHS else None


def _skip_comma(scan: Scan, i: int) -> int:
    return i + 1 if scan.norm(i) == "," else i


def _placey(scan: Scan, k: int, cued: bool = False) -> bool:
    """A word that can be part of a place name: not a function word or a common word,
    unless capitalised in mixed-case text or a usual part of city names; right after "I live
    in", "we moved to", a word that is also a name ("troy", "warren", "auburn") is a town."""
    if not 0 <= k < scan.count or not scan.toks[k].is_word:
        return False
    n = scan.norms[k]
    if n in FUNCTION or n in MONTHS or n in _NOT_PLACE or n in _NUMBER_WORDS or _state_at(
            scan, k):
        return False
    if n in _CITY_PREFIX or n in _CITY_SUFFIX:
        return True
    return not scan.lex.is_word(n) or scan.capitalised(k) or (
        cued and scan.lex.is_name(n) and _ends_phrase(scan, k + 1))


def _ends_phrase(scan: Scan, k: int) -> bool:
    """Nothing, a small word, a time or a state at ``k``: "troy last month", "warren now",
    not "constant pain"."""
    if k >= scan.count or not scan.toks[k].is_word:
        return True
    n = scan.norms[k]
    return n in FUNCTION or n in _TIME_WORDS or not scan.lex.is_word(n) or bool(_state_at(scan, k))


def _city_end(scan: Scan, j: int, cued: bool = False) -> int:
    """Last token of a place name starting at ``j`` (``j - 1`` when there is none)."""
    end = j - 1
    while end + 1 - j < _CITY_WORDS_MAX:
        if _placey(scan, end + 1, cued and end + 1 == j):
            end += 1
        elif scan.norm(end + 2) in _CITY_SUFFIX and scan.toks[end + 1].is_word and (
                scan.norms[end + 1] not in FUNCTION) and end + 2 - j < _CITY_WORDS_MAX:
            end += 2  # "grand rapids", "little rock": a word made a place by the next one
        else:
            break
        if scan.norms[end] in _ABBREVIATED_PREFIX and scan.norm(end + 1) == "." and _placey(
                scan, end + 2):
            end += 1  # "St. Louis", "Ft. Wayne"
    if end == j and scan.norms[j] in _CITY_PREFIX:
        return j - 1  # "north" alone is a direction
    return end


def _unit(scan: Scan, j: int, end: int) -> tuple[int, int]:
    """"apartment four b", "apt 37C", "Apt. 2-C", "suite 300", "Bldg 4, Rm 12": (next index,
    new end), taking in as many units as follow one another."""
    while scan.norm(j) in _UNIT_WORDS:
        got = _one_unit(scan, j)
        if got is None:
            break
        end = got
        j = _skip_comma(scan, end + 1)
    return j, end


def _one_unit(scan: Scan, j: int) -> int | None:
    k = j + 1
    if scan.norm(k) == ".":
        k += 1  # "Apt.", "Ste.", "Fl."
    if scan.norm(k) in ("number", "#", "no"):
        k += 1
    run = scan.run_from.get(k)
    if run is not None:
        end = run.last
        if scan.norm(end + 1) == "-" and len(scan.norm(end + 2)) == 1:
            end += 1  # "2-C"
        nxt = scan.norm(end + 1)
        if len(nxt) == 1 and nxt.isalpha() and nxt != "i" and not (
                nxt == "a" and scan.norm(end + 2) in ("day", "week", "month")):
            end += 1
        return end
    n = scan.norm(k)
    if n and len(n) <= 3 and n.isalnum() and n not in FUNCTION:
        return k
    return None


def _state_and_zip(scan: Scan, j: int) -> int | None:
    """A state at ``j`` with its ZIP after it: the last token, or None without a state."""
    state = _state_at(scan, j)
    if not state:
        if scan.norm(j).upper() in _STATE_CODES and scan.toks[j].is_word:
            return _zip_at(scan, _skip_comma(scan, j + 1))  # "ashland, ky 41101"
        return None
    end = j + state - 1
    zip_last = _zip_at(scan, _skip_comma(scan, end + 1))
    return zip_last if zip_last is not None else end


def _city_state_zip(scan: Scan, j: int) -> int | None:
    """"Springfield, Illinois 62704", "Toledo OH 43604", "boise 83702", "springfield"."""
    for width in range(1, _CITY_WORDS_MAX + 1):
        k = j + width
        if k > scan.count or any(not scan.toks[x].is_word or scan.norms[x] in FUNCTION
                                 for x in range(j, k)):
            break
        got = _state_and_zip(scan, _skip_comma(scan, k))
        if got is not None:
            return got
        zip_last = _zip_at(scan, _skip_comma(scan, k))
        if zip_last is not None and width <= 2:
            return zip_last
    got = _state_and_zip(scan, j)
    if got is not None:
        return got
    zip_last = _zip_at(scan, j)
    if zip_last is not None:
        return zip_last
    city = _city_end(scan, j) if j < scan.count else j - 1
    return _with_state_zip(scan, city) if city >= j else None


def _extend(scan: Scan, end: int) -> int:
    """Past the street: unit, city, state and ZIP, as far as they go."""
    j = _skip_comma(scan, end + 1)
    j, end = _unit(scan, j, end)
    got = _city_state_zip(scan, j)
    return got if got is not None else end


def _house_number(scan: Scan, suffix: int) -> int | None:
    """Token index of the house number before the street name that ends at ``suffix``."""
    if scan.norm(suffix - 1) in FUNCTION and not (
            scan.lex.is_name(scan.norm(suffix - 1)) and (suffix - 2) in scan.run_to):
        return None  # "20 miles on highway 101", but "4521 May Place"
    numbered_street: int | None = None
    for back in range(2, 7):
        k = suffix - back
        if k < 0:
            break
        run = scan.run_to.get(k)
        if run is not None and scan.norm(k + 1) in ORDINALS and numbered_street is None:
            numbered_street = run.first  # "three ten west [twenty] third street"
            continue
        if run is not None:
            if not run.spoken and len(run.groups) >= 3:
                return None  # "7-2-41 confirmed w pt": a written date, not a house number
            return None if scan.norm(k + 1) in UNITS_AFTER else run.first
        if k >= 1 and len(scan.norms[k]) == 1 and scan.toks[k].is_word and (
                scan.toks[k].start == scan.toks[k - 1].end) and (k - 1) in scan.run_to:
            return scan.run_to[k - 1].first  # "22A Hawthorn Way": a lettered house number
        n = scan.norms[k]
        if n == ",":
            j = k
            while scan.norm(j) == ",":
                j -= 1  # "five oh seven, um, willow": the filler between two commas is gone
            if j in scan.run_to and _address_cue_before(scan, scan.run_to[j].first):
                return scan.run_to[j].first  # "ship it to five oh seven, willow bend road"
        if n in FUNCTION or not (scan.toks[k].is_word or scan.toks[k].is_digits or n == "."):
            break
    return numbered_street


def _with_state_zip(scan: Scan, end: int) -> int:
    """A city's span takes in "Ohio 43604" after it; a state without a ZIP stays out."""
    k = _skip_comma(scan, end + 1)
    state = _state_at(scan, k)
    zip_last = _zip_at(scan, _skip_comma(scan, k + state)) if state else None
    return zip_last if zip_last is not None else end


def _after_street(scan: Scan, end: int) -> None:
    """"... cedar lane in Lubbock": the city said after "in" is its own span."""
    if scan.norm(end + 1) != "in":
        return
    city = _city_end(scan, end + 2)
    if city >= end + 2:
        scan.add(end + 2, _with_state_zip(scan, city), Label.ADDRESS, 6)


def _street(scan: Scan, i: int) -> None:
    n = scan.norms[i]
    if n == "dr" and scan.toks[min(i + 1, scan.count - 1)].is_word and scan.lex.is_name(
            scan.norm(i + 1)):
        return  # "Dr Patel" is a title
    first = _house_number(scan, i)
    if first is None:
        return
    end = i + 1 if scan.norm(i + 1) == "." else i
    if scan.norm(end + 1) in _DIRECTIONS and scan.toks[end + 1].text.isupper():
        end += 1  # "Pennsylvania Ave NW"
        if scan.norm(end + 1) == ".":
            end += 1
    end = _extend(scan, end)
    if scan.norm(first - 1) in _MAILBOX_WORDS:
        first = _mailbox_start(scan, first - 1)  # "PMB 204, 9100 Market St"
    scan.add(first, end, Label.ADDRESS, 8)
    _after_street(scan, end)


def _mailbox_start(scan: Scan, k: int) -> int:
    """First token of the mailbox word at ``k`` with its "PO", "p. o." or "post office"."""
    if scan.norms[k] != "box":
        return k
    j = k - 1
    while scan.norm(j) == "." and j >= 1:
        j -= 1
    if scan.norm(j) == "po":
        return j
    if scan.norm(j) == "office" and scan.norm(j - 1) == "post":
        return j - 1
    if scan.norm(j) == "o":
        j -= 1
        while scan.norm(j) == "." and j >= 1:
            j -= 1
        if scan.norm(j) == "p":
            return j
    return k


def _box_before(scan: Scan, first: int) -> int:
    """"Box 1120, Rural Route 2": a mailbox and its number said before a road (the first
    token of the mailbox, or ``first`` when there is none)."""
    k = first - 1 if scan.norm(first - 1) == "," else first
    run = scan.run_to.get(k - 1)
    if run is not None and scan.norm(run.first - 1) in _MAILBOX_WORDS:
        return _mailbox_start(scan, run.first - 1)
    return first


def _po_box(scan: Scan, i: int) -> None:
    """"PO Box 1234", "p o box 1234", "post office box 1234"."""
    j = i + 1
    if scan.norms[i] == "post":
        if scan.norm(j) != "office":
            return
        j += 1
    while scan.norm(j) in (".", "o"):
        j += 1
    if scan.norm(j) != "box":
        return
    run = scan.run_from.get(j + 1) or scan.run_from.get(j + 2)
    if run is not None and run.first <= j + 2:
        scan.add(i, _extend(scan, run.last), Label.ADDRESS, 8)


def _rural_route(scan: Scan, i: int) -> None:
    """"RR 3 Box 22A", "rural route 2 box 118": a rural route and its box."""
    j = i + 2 if scan.norms[i] == "rural" and scan.norm(i + 1) == "route" else i + 1
    if scan.norms[i] == "rural" and j == i + 1:
        return
    route = scan.run_from.get(j)
    if route is None:
        return
    end = route.last
    box = scan.run_from.get(route.last + 2) if scan.norm(route.last + 1) == "box" else None
    if box is None and scan.norms[i] == "rr":
        return  # "HR 62 bpm, RR 16": a respiratory rate
    if box is not None:
        end = box.last
        if end + 1 < scan.count and scan.toks[end + 1].start == scan.toks[end].end and len(
                scan.norms[end + 1]) == 1 and scan.toks[end + 1].is_word:
            end += 1  # "Box 22A"
    scan.add(i, _extend(scan, end), Label.ADDRESS, 8)


def _street_type_first(scan: Scan, i: int) -> None:
    """"9 Calle Las Flores", "1200 Avenida del Sol": a house number, then a street type said
    first, as in Spanish and French, then one to three capitalised or unknown words."""
    end = i
    while end + 1 < scan.count and end - i < _STREET_WORDS_MAX and scan.toks[end + 1].is_word \
            and (scan.toks[end + 1].text[:1].isupper() or not scan.lex.is_word(
                scan.norms[end + 1])) and scan.norms[end + 1] not in FUNCTION - _STREET_LINKS:
        end += 1
    if end > i:
        scan.add(scan.run_to[i - 1].first, _extend(scan, end), Label.ADDRESS, 8)


def _unit_alone(scan: Scan, i: int) -> None:
    """"apartment four b", "suite 300" said on their own are part of an address."""
    k = i + 2 if scan.norm(i + 1) in ("number", "#") else i + 1
    if scan.norms[i] in _OFFICE_UNITS and not _address_cue_before(scan, i) and not (
            Label.ADDRESS in scan.asked and i <= _ASK_REACH):
        return
    if k in scan.run_from:
        _, end = _unit(scan, i, i)
        scan.add(i, end, Label.ADDRESS, 6)


def _after_residence_verb(scan: Scan) -> None:
    """"she lives with us in Fresno", "we moved back to Reno": a residence verb, a few words,
    then "in" or "to" and a place."""
    for i, n in enumerate(scan.norms):
        if n not in ("in", "to") or not any(
                scan.norms[k] in _RESIDENCE_VERBS for k in range(max(0, i - 4), i - 1)):
            continue
        end = _city_end(scan, i + 1, cued=True) if i + 1 < scan.count else i
        if end > i:
            scan.add(i + 1, _with_state_zip(scan, end), Label.ADDRESS, 6)


def _street_name(scan: Scan, i: int) -> None:
    """A street said without a house number: "on Willow Drive", "off elm street"."""
    first = i
    while first - 1 >= 0 and i - first < 3 and scan.toks[first - 1].is_word and (
            scan.norms[first - 1] not in FUNCTION):
        first -= 1
    if first == i:
        return
    capitals = all(scan.capitalised(k) for k in range(first, i + 1))
    if capitals and scan.mixed_case and scan.toks[i].text.isupper():
        return  # "Azure XT DR MRI": a model's letters, not a drive said without its number
    if capitals or scan.norm(first - 1) in _STREET_PREPOSITIONS:
        end = i + 1 if scan.norm(i + 1) == "." else i
        scan.add(first, end, Label.ADDRESS, 6)
        _after_street(scan, end)


def _cities(scan: Scan) -> None:
    norms = scan.norms
    for i, n in enumerate(norms):
        for cue in _CITY_CUES_BY_FIRST.get(n, ()):
            w = len(cue)
            if tuple(norms[i : i + w]) != cue:
                continue
            j = i + w
            end = _city_end(scan, j, cued=True) if j < scan.count else j - 1
            if end >= j:
                scan.add(j, _with_state_zip(scan, end), Label.ADDRESS, 6)


def _counties(scan: Scan) -> None:
    """"Middlesex county", "Prince George's county", "county of Essex"."""
    for i in range(1, scan.count):
        if scan.norms[i] not in ("county", "parish", "borough"):
            continue
        first = i - 1
        if first < 0 or not scan.toks[first].is_word or scan.norms[first] in FUNCTION or (
                scan.norms[first] in _NOT_COUNTY):
            if scan.norm(i + 1) == "of" and _city_end(scan, i + 2) >= i + 2:
                scan.add(i + 2, _city_end(scan, i + 2), Label.ADDRESS, 6)
            continue
        if first - 1 >= 0 and _placey(scan, first - 1):
            first -= 1  # "prince georges county", "san mateo county"
        scan.add(first, i, Label.ADDRESS, 6)


def _numbered_road(scan: Scan, i: int) -> None:
    """"1500 Route 9 North", "425 County Road 12", "box 442, rural route 3": a house number,
    a road word and the road's number."""
    road = scan.run_from.get(i + 1)
    if road is None or len(road.digits) > 3 or road.quantity:
        return
    first = _house_number(scan, i + 1)
    if first is None and scan.norm(i - 1) == "rural":
        first = _box_before(scan, i - 1)
    if first is None:
        return
    end = road.last
    if scan.norm(end + 1) in ("north", "south", "east", "west", "n", "s", "e", "w"):
        end += 1
    scan.add(first, _extend(scan, end), Label.ADDRESS, 8)


_LOOP_WORDS = (_ROAD_WORDS | STREET_SUFFIXES | _SOFT_SUFFIXES | _UNITS_ALONE | _STATE_STARTS
               | {"po", "p", "post", "in", "rr", "rural"} | _STREET_FIRST)
"""The words the per-word rules below start from (besides numbers)."""


def _address_cue_before(scan: Scan, j: int) -> bool:
    """"my address is", "i live at", "send it to" just before token ``j``."""
    k = j - 1 if scan.norm(j - 1) in (",", ":") else j
    for cue in _ADDRESS_CUES_BY_LAST.get(scan.norm(k - 1), ()):
        w = len(cue)
        if k - w >= 0 and tuple(scan.norms[k - w : k]) == cue:
            return True
    return False


def _cued_street(scan: Scan, run_first: int) -> None:
    """"my address is 900 Bayview", "I'm at fourteen twenty two Pinecrest": after an address
    cue (or the agent's question for one) a house number and a street name, with or without
    a street type."""
    run = scan.run_from[run_first]
    if len(run.digits) > _HOUSE_DIGITS_MAX or scan.norm(run.last + 1) in UNITS_AFTER:
        return
    asked = Label.ADDRESS in scan.asked and run.first <= _ASK_REACH
    if not asked and not _address_cue_before(scan, run.first):
        return
    end = run.last
    while end + 1 < scan.count and end - run.last < _STREET_WORDS_MAX and scan.toks[
            end + 1].is_word and scan.norms[end + 1] not in FUNCTION and (
            scan.norms[end + 1] not in MONTHS or scan.capitalised(end + 1)):
        end += 1
        if scan.norms[end] in STREET_SUFFIXES or scan.norms[end] in _SOFT_SUFFIXES:
            break
    if end == run.last:
        return
    scan.add(run.first, _extend(scan, end + 1 if scan.norm(end + 1) == "." else end),
             Label.ADDRESS, 7)


def after_state(scan: Scan, i: int) -> bool:
    """A state (name or capital code) said right before token ``i``: "OH 43604", "N.M. 87501"."""
    k = i - 1 if scan.norm(i - 1) == "," else i
    return any(_state_at(scan, j) == k - j for j in range(max(0, k - 4), k))


def _city_before_state(scan: Scan, k: int) -> None:
    """"Dayton, Ohio", "Bozeman, MT", "lakewood colorado": a place name right before a state
    (with a comma, or a word no dictionary knows)."""
    j = k - 1
    comma = scan.norm(j) == ","
    if comma:
        j -= 1
    end = j
    while j >= 0 and end - j < _CITY_WORDS_MAX:
        if _placey(scan, j):
            j -= 1
        elif j >= 1 and scan.norms[j - 1] in _CITY_PREFIX and scan.toks[j].is_word and (
                scan.norms[j] not in FUNCTION):
            j -= 2  # "west orange new jersey": a usual first word makes the second a place
            break
        else:
            break
    first = j + 1
    lex = scan.lex
    if first == end and scan.norms[first] in _CITY_PREFIX:
        return  # "west texas": a direction
    if first > end or not (comma or scan.norms[first] in _CITY_PREFIX or all(
            not lex.is_word(scan.norms[x]) and scan.norms[x] not in lex.first_names
            for x in range(first, end + 1))):
        return
    scan.add(first, _with_state_zip(scan, end), Label.ADDRESS, 6)


def _in_rare_place(scan: Scan, i: int) -> None:
    """"my parents are in Yonkers", "she goes to school in ithaca": "in" and a word no
    dictionary knows that is not a first name (nor a program's name after "logged in")."""
    j = i + 1
    lex = scan.lex
    if scan.norm(i - 1) in _NOT_PLACE_VERBS:
        return
    end = i
    while end + 1 < scan.count and end - i < _CITY_WORDS_MAX and scan.toks[end + 1].is_word:
        n = scan.norms[end + 1]
        if lex.is_word(n) or "'" in n or n in FUNCTION or n in MONTHS or (
                n in cues.CUE_WORDS) or _state_at(scan, end + 1) or len(n) < _PLACE_MIN or (
                n in COUNTRIES):
            break
        end += 1
    if end >= j:
        scan.add(j, _with_state_zip(scan, end), Label.ADDRESS, 5)


def addresses(scan: Scan) -> None:
    run_from = scan.run_from
    for i, n in enumerate(scan.norms):
        if n not in _LOOP_WORDS and i not in run_from:
            continue
        if n in _ROAD_WORDS and (i + 1) in scan.run_from:
            _numbered_road(scan, i)
        if i in scan.run_from:
            _cued_street(scan, i)
        if (n in STREET_SUFFIXES or n in _SOFT_SUFFIXES) and i >= 2 and scan.toks[
                i].start > scan.toks[i - 1].end and scan.norms[i - 1] not in _CLAUSE_MARKS:
            # a street type follows its name, never a comma ("ID 8G4KLM, pt says ...")
            _street(scan, i)  # a suffix is a word of its own, not the "RD" of "WT2-RD63"
            if n in STREET_SUFFIXES:
                _street_name(scan, i)
        elif i > 0 and n in _STATE_STARTS and _state_at(scan, i) and (
                n not in _CODE_WORDS or _zip_at(scan, _skip_comma(scan, i + 1)) is not None):
            _city_before_state(scan, i)
        elif n in ("po", "p", "post"):
            _po_box(scan, i)
        elif n in ("rr", "rural"):
            _rural_route(scan, i)
        elif n in _STREET_FIRST and (i - 1) in scan.run_to:
            _street_type_first(scan, i)
        elif n in _UNITS_ALONE:
            _unit_alone(scan, i)
        elif n == "in" and i + 1 < scan.count:
            _in_rare_place(scan, i)
    _cities(scan)
    _after_residence_verb(scan)
    _counties(scan)
