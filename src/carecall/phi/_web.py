"""E-mail, web and IP addresses, written ("a@b.com", "192.0.2.1") or spoken ("maggie dot
oconnell at gmail dot com", "lakeside clinic dot com slash portal", "one nine two dot oh dot
two dot one")."""

from __future__ import annotations

import itertools
import re

from carecall.phi._scan import Found, Scan
from carecall.phi._vocab import EMAIL_JOIN, FUNCTION, TLDS
from carecall.phi.model import Label
from carecall.phi.spoken import read_element

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(
    r"\b(?:https?://[^\s,]+|www\.[^\s,]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:(?:com|org|net|gov|edu|"
    r"io|health|us|info|biz|app|co|me|ly|ai|care|clinic|tv|link|site|online|shop|store|blog"
    r"|xyz|example)\b(?:/[^\s,]*)?"
    r"|[a-z]{2,10}/[^\s,]+))",
    re.IGNORECASE,
)
"""Web addresses with a scheme, "www", a known top-level domain, or any domain with a path
("forms.gle/Qx7bLm2")."""
_SCHEME_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_IP_RE = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_LOCAL_HOST_RE = re.compile(r"(?:https?://)?(?:0\.0\.0\.0|127(?:\.\d{1,3}){3}|localhost)"
                            r"(?::\d+)?(?:/\S*)?", re.IGNORECASE)
"""This machine's own addresses in program logs ("Uvicorn running on http://0.0.0.0:8000"):
they name no person."""
_FILE_RE = re.compile(r"\.(?:py|pyc|js|ts|json|yaml|yml|toml|txt|log|csv|html|sh|cfg|ini|md)"
                      r"(?::\d+)?$", re.IGNORECASE)
_SLASH = frozenset({"slash", "/"})
_DOMAIN_WORDS_MAX = 3
"""Words of a spoken domain said without "dot" between them ("lakeside family clinic dot
com"); more than this is a sentence, not a domain."""


def formatted(scan: Scan) -> None:
    text = scan.text
    for m in _EMAIL_RE.finditer(text):
        scan.found.append(Found(m.start(), m.end(), Label.EMAIL, 9))
    for m in _URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".;:!?)":
            end -= 1  # the sentence's full stop is not part of the address
        value = text[m.start() : end]
        if "@" not in text[max(0, m.start() - 1) : end] and not _LOCAL_HOST_RE.fullmatch(
                value) and not (text[m.start() - 1 : m.start()] == "/" or _FILE_RE.search(value)):
            scan.found.append(Found(m.start(), end, Label.URL, 8))
    schemed = [(u.start(), u.end()) for u in _SCHEME_RE.finditer(text)]
    for m in _IP_RE.finditer(text):
        if any(s <= m.start() < e for s, e in schemed) and "/" in text[m.end() : m.end() + 1]:
            continue  # "http://198.51.100.30/results/view": the whole link is the URL
        if not _LOCAL_HOST_RE.fullmatch(m.group()):
            scan.found.append(Found(m.start(), m.end(), Label.IP_ADDRESS, 9))


def _part(scan: Scan, k: int) -> bool:
    """A word or digit group that can be a piece of an address."""
    if not 0 <= k < scan.count:
        return False
    tok = scan.toks[k]
    n = tok.norm
    return (tok.is_word or tok.is_digits) and n not in EMAIL_JOIN and n not in ("at", "slash")


def _chain_back(scan: Scan, k: int) -> int:
    """First token of the dotted or dashed chain ending at ``k``."""
    while k >= 2 and scan.norms[k - 1] in EMAIL_JOIN and _part(scan, k - 2):
        k -= 2
    return k


def _is_number_at(scan: Scan, k: int) -> bool:
    return 0 <= k < scan.count and (scan.toks[k].is_digits or read_element(scan.toks, k)
                                    is not None)


def _slash(scan: Scan, k: int) -> int:
    """Tokens used by a slash at ``k`` ("slash", "/", "forward slash"), 0 when none."""
    if scan.norm(k) in _SLASH:
        return 1
    return 2 if scan.norm(k) in ("forward", "back") and scan.norm(k + 1) == "slash" else 0


def _path_word(scan: Scan, k: int) -> bool:
    return _part(scan, k) and scan.toks[k].is_word and scan.norms[k] not in FUNCTION and (
        scan.norms[k] not in _NOT_DOMAIN) and read_element(scan.toks, k) is None


def _path_end(scan: Scan, end: int) -> int:
    """Past the top-level domain: "dot uk", "slash patient slash eight oh seven", "slash at
    grandma dot june", "slash rbrennan eighty two"."""
    count = scan.count
    while end + 2 < count and scan.norms[end + 1] == "dot" and len(scan.norms[end + 2]) == 2 \
            and scan.norms[end + 2].isalpha() and scan.norms[end + 2] not in FUNCTION:
        end += 2  # "dot co dot uk"
    while (used := _slash(scan, end + 1)) and end + used + 1 < count:
        if scan.norm(end + used + 1) in ("at", "@") and _part(scan, end + used + 2):
            used += 1  # "slash at grandma": a handle
        if not _part(scan, end + used + 1):
            break
        end += used + 1
        if scan.toks[end].is_word and _path_word(scan, end + 1):
            end += 1  # "slash new patients": a path said as two words
        while end + 2 < count and scan.norms[end + 1] in EMAIL_JOIN and _part(scan, end + 2):
            end += 2
        run = scan.run_from.get(end + 1)
        if run is not None and not run.quantity:
            end = run.last  # "slash rbrennan eighty two"
        while end + 1 < count and (scan.toks[end + 1].is_digits or (
                _is_number_at(scan, end + 1) and _is_number_at(scan, end)) or _code_char(
                scan, end + 1, end)):
            end += 1
    return end


def _code_char(scan: Scan, k: int, prev: int) -> bool:
    """A path said as a code, letter by letter and digit by digit ("slash three q z nine k"):
    a spelled letter (not "a" or "i") or a digit next to another code character."""
    n = scan.norms[k]
    if len(n) == 1 and scan.toks[k].is_word and n not in ("a", "i"):
        return True
    p = scan.norms[prev]
    return _is_number_at(scan, k) and len(p) == 1 and scan.toks[prev].is_word


def _words_before(scan: Scan, k: int) -> int:
    """A spoken domain may be several words ("lakeside clinic dot com"): take up to a few
    plain words before ``k`` that are not function words or cues."""
    start = k
    while start - 1 >= 0 and k - start + 1 < _DOMAIN_WORDS_MAX and scan.toks[start - 1].is_word \
            and scan.norms[start - 1] not in FUNCTION and scan.norms[start - 1] not in _NOT_DOMAIN:
        start -= 1
    return start


_WWW_REACH = 6
_NOT_DOMAIN = frozenset({"website", "site", "web", "address", "portal", "link", "url", "page",
                         "email", "mail", "go", "visit", "online", "check", "try", "type",
                         "see", "use", "open", "click", "find", "search", "follow", "log",
                         "is", "its", "it's", "called", "www", "slash", "colon"} | set(EMAIL_JOIN))


def _local_part_start(scan: Scan, at: int) -> int | None:
    """First token of the name before a spoken "at", or None when there is none."""
    if not _part(scan, at - 1):
        return None
    k = _chain_back(scan, at - 1)
    # "harold five eight at ...": digits said after the name belong to it
    while k >= 1 and _is_number_at(scan, k) and _part(scan, k - 1):
        k = _chain_back(scan, k - 1)
    spelled = k
    while spelled >= 1 and len(scan.norms[spelled]) == 1 and scan.toks[spelled].is_word and len(
            scan.norms[spelled - 1]) == 1 and scan.toks[spelled - 1].is_word:
        spelled -= 1  # "r a y m o n d at example dot com": a name spelled letter by letter
    if spelled < k - 1:
        k = spelled
    if scan.norms[k] in FUNCTION and k < at - 1:
        k += 1
    return None if scan.norms[k] in FUNCTION else k


def _tld(scan: Scan, i: int) -> int | None:
    """Last token of a top-level domain said after the "dot" at ``i``, or None."""
    norms = scan.norms
    if norms[i] != "dot":
        return None
    if norms[i + 1] in TLDS:
        return i + 1
    if i + 2 < scan.count and len(norms[i + 1]) == 1 == len(norms[i + 2]) and (
            norms[i + 1] + norms[i + 2] in TLDS):
        return i + 2  # "bit dot l y slash ...": the top-level domain spelled
    return None


def spoken(scan: Scan) -> None:
    """Spoken e-mail and web addresses, found from each "dot" before a top-level domain."""
    norms = scan.norms
    for i in range(1, scan.count - 1):
        tld = _tld(scan, i)
        if tld is None or not _part(scan, i - 1):
            continue
        end = _path_end(scan, tld)
        domain_start = _chain_back(scan, i - 1)
        at = domain_start - 1
        if at >= 1 and norms[at] in ("at", "@"):
            first = _local_part_start(scan, at)
            if first is not None:
                scan.add(first, end, Label.EMAIL, 9)
                continue
            # "my blog is at grannyknits dot blogspot dot com": "at" a place on the web
        start = domain_start
        if norms[start] in FUNCTION and start < i - 1 and not (
                norms[start] == "my" and norms[start + 1] == "dot"):
            start += 2  # but "my dot brightwater health dot com" is a host named "my"
        elif norms[start] != "www":
            start = _words_before(scan, start)
            # "mychart dot riverside health dot org": more dotted parts before the words
            if start >= 2 and norms[start - 1] in EMAIL_JOIN and _part(scan, start - 2):
                start = _chain_back(scan, start - 2)
        if norms[start] == "w":
            first_w = start
            while start >= 1 and norms[start - 1] == "w" and first_w - start < 2:
                start -= 1  # "w w w dot riverside health dot org": the dotted chain began at w
        www = next((k for k in range(start - 1, max(-1, start - _WWW_REACH), -1)
                    if norms[k] in ("www", "w") and norms[k + 1] == "dot"), None)
        if www is not None and all(scan.toks[k].is_word for k in range(www, start)):
            start = www  # "www dot my chart example dot org"
            while start >= 2 and norms[start - 1] == "w" and norms[start - 2] == "w":
                start -= 1  # "w w w dot"
        start = _scheme_start(scan, start)
        scan.add(start, end, Label.URL, 8)


def _scheme_start(scan: Scan, start: int) -> int:
    """"h t t p s colon slash slash", "https colon slash slash" said before the domain."""
    k = start
    while k >= 1 and scan.norms[k - 1] in _SLASH:
        k -= 1
    if k < start and scan.norm(k - 1) == "colon":
        k -= 1
        if scan.norm(k - 1) in ("http", "https"):
            return k - 1
        letters = k
        while letters >= 1 and len(scan.norms[letters - 1]) == 1 and k - letters < len("https"):
            letters -= 1
        if "".join(scan.norms[letters:k]) in ("http", "https"):
            return letters
    return start


def spoken_ips(scan: Scan) -> None:
    """Four numbers of at most 255 joined by "dot" ("ten dot zero dot zero dot one")."""
    runs = scan.runs
    norms = scan.norms
    for a in range(len(runs) - 3):
        group = runs[a : a + 4]
        if all(
            nxt.first == cur.last + 2 and norms[cur.last + 1] in ("dot", "point", ".")
            for cur, nxt in itertools.pairwise(group)
        ) and all(len(r.digits) <= 3 and int(r.digits) <= 255 for r in group):
            scan.found.append(Found(group[0].start, group[3].end, Label.IP_ADDRESS, 9))
