"""Ages over 89, which Safe Harbor counts as identifiers (45 CFR 164.514(b)(2)(i)(C)):
"I'm ninety two", "he's a hundred and three years old", "age 97"."""

from __future__ import annotations

from carecall.phi._scan import Scan
from carecall.phi._vocab import UNITS_AFTER, words
from carecall.phi.model import Label
from carecall.phi.spoken import NumberRun

_AGE_BEFORE = words("i'm im am he's hes she's shes age aged turned turning turns who's whos")
_WILL_BE = words("i'll he'll she'll ill hell shell they'll you'll")
"""Before "be": "she'll be ninety four"."""
_PERSON_WORDS = words(
    """
    he she father mother dad mom husband wife grandmother grandfather grandma grandpa aunt
    uncle patient brother sister son daughter
    """
)
_YEARS = frozenset({"years", "year", "yrs", "yo"})
_NOT_AGE_AFTER = frozenset({"point", "over", "percent", "degrees", "pounds", "dollars", "%"})
_YOUNGEST = 90
_OLDEST = 125


def _says_years_old(scan: Scan, run: NumberRun) -> bool:
    after = scan.norm(run.last + 1)
    return after in _YEARS or (after == "-" and scan.norm(run.last + 2) == "year") or (
        after == "y" and scan.norm(run.last + 2) == "/" and scan.norm(run.last + 3) == "o")
    # "96 y/o"


def _about_a_person(scan: Scan, run: NumberRun) -> bool:
    """"my father is ninety four": a person was named just before "is"."""
    return scan.norm(run.last + 1) in ("", "and", ",", ".") and any(
        scan.norms[k] in _PERSON_WORDS for k in range(max(0, run.first - 5), run.first))


def age(scan: Scan, run: NumberRun) -> bool:
    """Add an AGE for ``run`` when it is one; True when it was."""
    if len(run.digits) > 3 or not _YOUNGEST <= int(run.digits) <= _OLDEST or "." in (
            scan.text[run.start : run.end]):
        return False  # "battery 9.1 yrs" is not an age
    before = scan.norm(run.first - 1)
    if before == ":" and scan.norm(run.first - 2) == "age":
        before = "age"  # "Age: 90"
    elif before == "be" and scan.norm(run.first - 2) in _WILL_BE:
        before = "turning"
    after = scan.norm(run.last + 1)
    if before in ("is", "was"):
        said = _about_a_person(scan, run)
    else:
        said = before in _AGE_BEFORE and after not in UNITS_AFTER and after not in _NOT_AGE_AFTER
    if not (said or _says_years_old(scan, run)):
        return False
    scan.add(run.first, run.last, Label.AGE, 7)
    return True
