"""Addresses: every geographic unit smaller than a state (45 CFR 164.514(b)(2)(i)(B)).

A street address runs from the house number over the street name and suffix, then takes in
what follows it as far as it goes: unit ("apartment four b", "suite 300"), city, state and
ZIP ("02139", "02139-4307", "oh two one three nine"). Cities are also found after "I live in",
"I moved to", after a street ("... elm street in Dayton") and before "county". A state alone
is not PHI and is never flagged.
"""

from __future__ import annotations

from carecall.phi._scan import Scan
from carecall.phi._vocab import FUNCTION, words
from carecall.phi.model import Label
from carecall.phi.spoken import MONTHS

STREET_SUFFIXES = words(
    """
    street st avenue ave road rd drive dr lane ln boulevard blvd court ct way place pl circle
    cir terrace ter parkway pkwy highway hwy trail trl square sq loop row alley pike crescent
    close
    """
)
_UNIT_WORDS = words("apartment apt unit suite ste # number building bldg floor lot room")
_UNITS_ALONE = words("apartment apt suite ste unit")
_STATES = words(
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia
    hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon
    pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming
    """
)
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
_CITY_CUES: tuple[tuple[str, ...], ...] = tuple(
    tuple(c.split())
    for c in (
        "live in", "lives in", "living in", "lived in", "live over in", "live out in",
        "moved to", "moving to", "move to", "moved here from", "located in", "city of",
        "town of", "reside in", "resides in", "residing in", "stay in", "staying in",
        "house in", "home in", "apartment in", "grew up in", "born in", "based in",
        "village of", "clinic in", "office in", "pharmacy in", "hospital in",
    )
)
_CITY_CUES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _CITY_CUES:
    _CITY_CUES_BY_FIRST.setdefault(_cue[0], []).append(_cue)
_CITY_PREFIX = words("saint st san santa los las new north south east west port fort mount "
                     "mt lake el la")
_CITY_SUFFIX = words("city springs falls beach heights park valley lake hills grove creek "
                     "harbor village center point ridge")
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
_ZIP_LENGTHS = (5, 9)
_CITY_WORDS_MAX = 3


def _state_at(scan: Scan, i: int) -> int:
    """Tokens used by a state name or two-letter code at ``i`` (0 when none)."""
    n = scan.norm(i)
    if not n:
        return 0
    if n in _STATES:
        return 1
    if scan.toks[i].text in _STATE_CODES:
        return 1
    return 2 if (n, scan.norm(i + 1)) in _STATE_PAIRS else 0


def _zip_at(scan: Scan, i: int) -> int | None:
    """Last token of a ZIP or ZIP+4 starting at ``i``."""
    run = scan.run_from.get(i)
    return run.last if run is not None and len(run.digits) in _ZIP_LENGTHS else None


def _skip_comma(scan: Scan, i: int) -> int:
    return i + 1 if scan.norm(i) == "," else i


def _placey(scan: Scan, k: int) -> bool:
    """A word that can be part of a place name: not a function word or a common word,
    unless capitalised in mixed-case text or a usual part of city names."""
    if not 0 <= k < scan.count or not scan.toks[k].is_word:
        return False
    n = scan.norms[k]
    if n in FUNCTION or n in MONTHS or n in _NOT_PLACE or _state_at(scan, k):
        return False
    if n in _CITY_PREFIX or n in _CITY_SUFFIX:
        return True
    return not scan.lex.is_word(n) or scan.capitalised(k)


def _city_end(scan: Scan, j: int) -> int:
    """Last token of a place name starting at ``j`` (``j - 1`` when there is none)."""
    end = j - 1
    while end + 1 - j < _CITY_WORDS_MAX and _placey(scan, end + 1):
        end += 1
    if end == j and scan.norms[j] in _CITY_PREFIX:
        return j - 1  # "north" alone is a direction
    return end


def _unit(scan: Scan, j: int, end: int) -> tuple[int, int]:
    """"apartment four b", "apt 37C", "suite 300", "unit 12": (next index, new end)."""
    if scan.norm(j) not in _UNIT_WORDS:
        return j, end
    k = j + 1
    if scan.norm(k) in ("number", "#"):
        k += 1
    run = scan.run_from.get(k)
    if run is not None:
        end = run.last
        nxt = scan.norm(end + 1)
        if len(nxt) == 1 and nxt.isalpha() and nxt != "i" and not (
                nxt == "a" and scan.norm(end + 2) in ("day", "week", "month")):
            end += 1
    elif scan.norm(k) and len(scan.norm(k)) <= 3 and scan.norm(k).isalnum():
        end = k
    else:
        return j, end
    return _skip_comma(scan, end + 1), end


def _state_and_zip(scan: Scan, j: int) -> int | None:
    """A state at ``j`` with its ZIP after it: the last token, or None without a state."""
    state = _state_at(scan, j)
    if not state:
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
    return city if city >= j else None


def _extend(scan: Scan, end: int) -> int:
    """Past the street: unit, city, state and ZIP, as far as they go."""
    j = _skip_comma(scan, end + 1)
    j, end = _unit(scan, j, end)
    got = _city_state_zip(scan, j)
    return got if got is not None else end


def _house_number(scan: Scan, suffix: int) -> int | None:
    """Token index of the house number before the street name that ends at ``suffix``."""
    for back in range(2, 7):
        k = suffix - back
        if k < 0:
            return None
        run = scan.run_to.get(k)
        if run is not None:
            return run.first
        n = scan.norms[k]
        if n in FUNCTION or not (scan.toks[k].is_word or scan.toks[k].is_digits or n == "."):
            return None
    return None


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
    end = _extend(scan, end)
    scan.add(first, end, Label.ADDRESS, 8)
    _after_street(scan, end)


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


def _unit_alone(scan: Scan, i: int) -> None:
    """"apartment four b", "suite 300" said on their own are part of an address."""
    k = i + 2 if scan.norm(i + 1) in ("number", "#") else i + 1
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
        end = _city_end(scan, i + 1) if i + 1 < scan.count else i
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
            end = _city_end(scan, j) if j < scan.count else j - 1
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


def addresses(scan: Scan) -> None:
    for i, n in enumerate(scan.norms):
        if n in STREET_SUFFIXES and i >= 2 and scan.toks[i].start > scan.toks[i - 1].end:
            _street(scan, i)  # a suffix is a word of its own, not the "RD" of "WT2-RD63"
            _street_name(scan, i)
        elif n in ("po", "p", "post"):
            _po_box(scan, i)
        elif n in _UNITS_ALONE:
            _unit_alone(scan, i)
    _cities(scan)
    _after_residence_verb(scan)
    _counties(scan)
