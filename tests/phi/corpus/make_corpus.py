"""Generate carecall's labelled PHI corpus: ``dev.jsonl`` and the held-out ``test.jsonl``.

Why a generator: every span offset is computed while the line is assembled, so offsets cannot
drift from the text. Why two template sets: the test split must measure generalisation, so it
uses its own sentences, its own name/street/city/employer pools and its own random numbers;
only the *forms of speech* (spoken digits, spelled letters, "dot"/"at", ordinal dates) are
shared, because those are what the detector must learn to read.

Every identifier is synthetic: phone numbers are 555-01xx or 555-01x-xxxx, IP addresses are
from the documentation ranges (RFC 5737), names and streets are picked from small invented
pools, and every other number is drawn from a seeded random generator.

Run: ``python tests/phi/corpus/make_corpus.py`` (rewrites both files, deterministic).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------- spoken numbers

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORD = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh",
       8: "eighth", 9: "ninth", 10: "tenth", 11: "eleventh", 12: "twelfth", 13: "thirteenth",
       14: "fourteenth", 15: "fifteenth", 16: "sixteenth", 17: "seventeenth", 18: "eighteenth",
       19: "nineteenth", 20: "twentieth", 30: "thirtieth"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
FILLERS = ["uh", "um", "uhh", "hmm", "let me see", "hold on"]


def two_digit(n: int) -> str:
    if n < 20:
        return ONES[n]
    t, o = divmod(n, 10)
    return TENS[t] if o == 0 else f"{TENS[t]} {ONES[o]}"


def ordinal(n: int) -> str:
    if n in ORD:
        return ORD[n]
    t, o = divmod(n, 10)
    return f"{TENS[t]} {ORD[o]}"


def ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def year_words(y: int, rng: random.Random) -> str:
    hi, lo = divmod(y, 100)
    if y >= 2000 and (lo < 10 or rng.random() < 0.4):
        return "two thousand" if lo == 0 else f"two thousand {two_digit(lo)}"
    lo_w = "hundred" if lo == 0 else (f"oh {ONES[lo]}" if lo < 10 else two_digit(lo))
    return f"{two_digit(hi)} {lo_w}"


def spoken_digits(s: str, rng: random.Random, *, fillers: bool = False,
                  pairs: bool = False, zero: str | None = None) -> str:
    """Digits as a caller says them: "oh"/"zero", "double five", optional fillers and pairs."""
    zero_word = zero or rng.choice(["oh", "zero", "oh"])
    words: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if pairs and i + 1 < len(s) and c != "0" and rng.random() < 0.3:
            words.append(two_digit(int(s[i:i + 2])))
            i += 2
            continue
        if i + 1 < len(s) and s[i + 1] == c and rng.random() < 0.35:
            words.append("double " + (zero_word if c == "0" else ONES[int(c)]))
            i += 2
            continue
        words.append(zero_word if c == "0" else ONES[int(c)])
        i += 1
    if fillers and len(words) > 3:
        pos = rng.randrange(2, len(words) - 1)
        words.insert(pos, rng.choice(FILLERS))
    return " ".join(words)


def spoken_alnum(s: str, rng: random.Random, *, fillers: bool = False) -> str:
    """An alphanumeric ID read out character by character (letters spelled, digits as words)."""
    out: list[str] = []
    run = ""
    for c in s:
        if c.isdigit():
            run += c
            continue
        if run:
            out.append(spoken_digits(run, rng))
            run = ""
        if c.isalpha():
            out.append(c.lower())
        elif c == "-" and rng.random() < 0.3:
            out.append("dash")
    if run:
        out.append(spoken_digits(run, rng))
    if fillers and len(out) > 2:
        out.insert(rng.randrange(1, len(out)), rng.choice(FILLERS[:3]))
    return " ".join(out)


def spell(word: str) -> str:
    return " ".join(c for c in word.lower() if c.isalpha())


# --------------------------------------------------------------------------- pools per split

POOLS: dict[str, dict[str, list[str]]] = {
    "dev": {
        "first": ["Margaret", "Daniel", "Rosa", "Tyrone", "Priya", "Harold", "Lucia", "Kevin",
                  "Denise", "Samuel", "Ingrid", "Marcus", "Yolanda", "Grace", "Mark",
                  "Esther", "Raymond", "Fatima", "Walter", "Colleen"],
        "last": ["OConnell", "Kowalski", "Nguyen", "Hernandez", "Whitfield", "Abernathy",
                 "Delgado", "Papadopoulos", "Lindqvist", "Okafor", "Brennan", "Castellano",
                 "Yamamoto", "Fitzgerald", "Mbeki", "Sorensen"],
        "relation": ["wife", "husband", "mom", "dad", "daughter", "son", "sister", "brother"],
        "employer": ["Hendricks Plumbing", "Lakeside Foods", "Metro Transit Authority",
                     "Sunnyvale Elementary", "Pinecrest Logistics", "Dollar Barn",
                     "Riverside Auto Body", "Northgate Insurance"],
        "street": ["Elm Street", "Oak Ridge Drive", "Maple Avenue", "Cedar Lane",
                   "Willow Court", "Harbor Road", "Lincoln Boulevard", "Birch Hollow Way"],
        "city": ["Springfield", "Dayton", "Fresno", "Bakersfield", "Toledo", "Akron",
                 "Lubbock", "Macon"],
        "state": ["IL", "OH", "CA", "CA", "OH", "OH", "TX", "GA"],
        "county": ["Cook County", "Montgomery County", "Fresno County", "Lucas County"],
        "domain": ["gmail.com", "yahoo.com", "outlook.com", "aol.com"],
        "site": ["facebook.com", "mychart-example.org", "patientportal-demo.net"],
    },
    "test": {
        "first": ["Beatrix", "Oluwaseun", "Thaddeus", "Marisol", "Anjali", "Cornelius",
                  "Svetlana", "Desmond", "Imogen", "Rafael", "Henrietta", "Bill", "June",
                  "Winston", "Noor", "Agnes", "Leopold", "Tamika"],
        "last": ["Vandermeer", "Tanaka", "Achterberg", "Rosales", "Pemberton", "Gallagher",
                 "Szymanski", "Adeyemi", "Chowdhury", "Holloway", "Marchetti", "Quintero",
                 "Dubois", "Ferreira"],
        "relation": ["grandmother", "grandson", "stepdad", "fiance", "niece", "roommate",
                     "partner", "aunt"],
        "employer": ["Brightwater Logistics", "Cole and Sons Roofing", "Saint Anselm Academy",
                     "Quarry Hill Dairy", "Tristate Freight", "Bluebonnet Credit Union",
                     "Hargrove Steel"],
        "street": ["Juniper Terrace", "Sycamore Street", "Prospect Avenue", "Quail Run Road",
                   "Magnolia Drive", "Kingsbury Place", "Tamarack Trail"],
        "city": ["Tulsa", "Boise", "Scranton", "Chattanooga", "Eugene", "Duluth",
                 "Pueblo"],
        "state": ["OK", "ID", "PA", "TN", "OR", "MN", "CO"],
        "county": ["Tulsa County", "Ada County", "Lackawanna County", "Hamilton County"],
        "domain": ["hotmail.com", "icloud.com", "protonmail.com", "comcast.net"],
        "site": ["instagram.com", "healthrecords-sample.com", "linkedin.com"],
    },
}

# --------------------------------------------------------------------------- value generators

Gen = Callable[["Ctx"], tuple[str, dict[str, Any]]]


class Ctx:
    """One line being generated: its split's pools, its style and its random source."""

    def __init__(self, split: str, spoken: bool, rng: random.Random) -> None:
        self.split = split
        self.spoken = spoken
        self.rng = rng
        self.p = POOLS[split]

    def pick(self, key: str) -> str:
        return self.rng.choice(self.p[key])

    def case(self, s: str) -> str:
        return s.lower() if self.spoken else s


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def g_first(c: Ctx) -> tuple[str, dict[str, Any]]:
    f = c.pick("first")
    return c.case(f), {"name": f}


def g_last(c: Ctx) -> tuple[str, dict[str, Any]]:
    last = c.pick("last")
    return c.case(last), {"name": last}


def g_full(c: Ctx) -> tuple[str, dict[str, Any]]:
    f, last = c.pick("first"), c.pick("last")
    if not c.spoken and last == "OConnell":
        last = "O'Connell"
    if c.rng.random() < 0.15 and not c.spoken:
        return f"{f} {c.rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}", {"name": f"{f} {last}"}
    return c.case(f"{f} {last}"), {"name": f"{f} {last}"}


def g_spelled(c: Ctx) -> tuple[str, dict[str, Any]]:
    last = c.pick("last")
    if c.spoken:
        return spell(last), {"name": last}
    return "-".join(ch for ch in last.upper() if ch.isalpha()), {"name": last}


def g_misspelled(c: Ctx) -> tuple[str, dict[str, Any]]:
    """A mis-transcribed form of the patient's own name (context ``known`` carries the truth)."""
    f, last = c.pick("first"), c.pick("last")
    def mangle(w: str) -> str:
        w = w.lower()
        i = c.rng.randrange(1, len(w) - 1)
        op = c.rng.random()
        if op < 0.4:
            return w[:i] + w[i + 1:]
        if op < 0.7:
            return w[:i] + w[i] + w[i:]
        return w[:i] + c.rng.choice("aeiou") + w[i + 1:]
    return f"{mangle(f)} {mangle(last)}", {"name": f"{f} {last}", "known_name": True}


def g_employer(c: Ctx) -> tuple[str, dict[str, Any]]:
    return c.case(c.pick("employer")), {}


def _date(c: Ctx, lo: int, hi: int) -> tuple[int, int, int]:
    return c.rng.randint(lo, hi), c.rng.randint(1, 12), c.rng.randint(1, 28)


def fmt_date(c: Ctx, y: int, m: int, d: int, with_year: bool = True) -> str:
    rng = c.rng
    mon = MONTHS[m - 1]
    if c.spoken:
        forms = [f"{mon.lower()} {ordinal(d)}", f"the {ordinal(d)} of {mon.lower()}",
                 f"{mon.lower()} {two_digit(d)}"]
        base = rng.choice(forms)
        if not with_year:
            return base
        yw = year_words(y, rng)
        numeric = [f"{spoken_digits(f'{m:02d}', rng, zero='oh')} "
                   f"{spoken_digits(f'{d:02d}', rng, zero='oh')} {two_digit(y % 100)}",
                   f"{two_digit(m)} {two_digit(d)} {yw}"]
        if rng.random() < 0.3:
            return rng.choice(numeric)
        return f"{base} {yw}"
    forms_y = [f"{mon} {ordinal_suffix(d)}, {y}", f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y % 100:02d}",
               f"{y}-{m:02d}-{d:02d}", f"{mon[:3]} {d} {y}", f"{d} {mon} {y}"]
    forms_n = [f"{mon} {ordinal_suffix(d)}", f"{mon} {d}", f"{m}/{d}"]
    return rng.choice(forms_y if with_year else forms_n)


def g_dob(c: Ctx) -> tuple[str, dict[str, Any]]:
    y, m, d = _date(c, 1931, 2012)
    return fmt_date(c, y, m, d), {"dob": f"{y}-{m:02d}-{d:02d}"}


def g_visit(c: Ctx) -> tuple[str, dict[str, Any]]:
    y, m, d = _date(c, 2023, 2025)
    return fmt_date(c, y, m, d, with_year=c.rng.random() < 0.4), {}


def g_day(c: Ctx) -> tuple[str, dict[str, Any]]:
    d = c.rng.randint(1, 31)
    return (f"the {ordinal(d)}" if c.spoken else f"the {ordinal_suffix(d)}"), {}


def g_age(c: Ctx) -> tuple[str, dict[str, Any]]:
    a = c.rng.randint(90, 104)
    if c.spoken:
        return ("a hundred and " + ONES[a - 100]) if a > 100 else (
            "a hundred" if a == 100 else two_digit(a)), {}
    return str(a), {}


def _phone_digits(c: Ctx) -> str:
    area = c.rng.choice(["312", "614", "559", "405", "208", "570", "423", "541", "218", "719",
                         "555", "937", "661"])
    if c.rng.random() < 0.25:
        return "555" + "01" + digits(c.rng, 5)
    return area + "55501" + digits(c.rng, 2)


def fmt_phone(c: Ctx, p: str) -> str:
    if c.spoken:
        fill = c.rng.random() < 0.35
        parts = [spoken_digits(p[:3], c.rng), spoken_digits(p[3:6], c.rng),
                 spoken_digits(p[6:], c.rng, pairs=True)]
        if fill:
            parts.insert(c.rng.randrange(1, 3), c.rng.choice(FILLERS[:3]))
        return " ".join(parts)
    return c.rng.choice([f"({p[:3]}) {p[3:6]}-{p[6:]}", f"{p[:3]}-{p[3:6]}-{p[6:]}",
                         f"{p[:3]}.{p[3:6]}.{p[6:]}", f"+1 {p[:3]} {p[3:6]} {p[6:]}",
                         f"{p[3:6]}-{p[6:]}", p, f"{p[:3]}, {p[3:6]}, {p[6:]}",
                         f"{p[:3]}... {p[3:6]}... {p[6:]}"])


def g_phone(c: Ctx) -> tuple[str, dict[str, Any]]:
    p = _phone_digits(c)
    s = fmt_phone(c, p)
    return s, {"phone": f"+1{p}"}


def g_email(c: Ctx) -> tuple[str, dict[str, Any]]:
    f, last = c.pick("first").lower(), c.pick("last").lower()
    user = c.rng.choice([f"{f}.{last}", f"{f[0]}{last}", f"{f}{c.rng.randint(1, 99)}",
                         f"{last}_{f}"])
    dom = c.pick("domain")
    if not c.spoken:
        return f"{user}@{dom}", {}
    u = user.replace(".", " dot ").replace("_", " underscore ")
    u = re.sub(r"(\d+)", lambda m: " " + spoken_digits(m.group(1), c.rng) , u).strip()
    u = re.sub(r"\s+", " ", u)
    return f"{u} at {dom.replace('.', ' dot ')}", {}


def _ssn(c: Ctx) -> str:
    return f"{c.rng.randint(100, 665):03d}{c.rng.randint(10, 99):02d}{c.rng.randint(1000, 9999)}"


def g_ssn(c: Ctx) -> tuple[str, dict[str, Any]]:
    s = _ssn(c)
    if c.spoken:
        return " ".join([spoken_digits(s[:3], c.rng), spoken_digits(s[3:5], c.rng),
                         spoken_digits(s[5:], c.rng, fillers=c.rng.random() < 0.3)]), {}
    return c.rng.choice([f"{s[:3]}-{s[3:5]}-{s[5:]}", f"{s[:3]} {s[3:5]} {s[5:]}", s]), {}


def g_last4(c: Ctx) -> tuple[str, dict[str, Any]]:
    s = digits(c.rng, 4)
    return (spoken_digits(s, c.rng, pairs=True) if c.spoken else s), {}


def _alnum_out(c: Ctx, s: str) -> tuple[str, dict[str, Any]]:
    if c.spoken:
        return spoken_alnum(s, c.rng, fillers=c.rng.random() < 0.2), {}
    return s, {}


def _L(c: Ctx, n: int) -> str:
    return "".join(c.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def g_mrn(c: Ctx) -> tuple[str, dict[str, Any]]:
    s = c.rng.choice([digits(c.rng, 8), "MR" + digits(c.rng, 7), digits(c.rng, 3) + "-" +
                      digits(c.rng, 4), "E" + digits(c.rng, 6)])
    return _alnum_out(c, s)


def g_plan(c: Ctx) -> tuple[str, dict[str, Any]]:
    n = c.rng.random()
    if n < 0.3:
        s = _L(c, 3) + digits(c.rng, 9)
    elif n < 0.55:
        # Medicare Beneficiary Identifier shape: 1EG4-TE5-MK73
        s = (f"{c.rng.randint(1, 9)}{_L(c, 1)}{_L(c, 1)}{digits(c.rng, 1)}-{_L(c, 2)}"
             f"{digits(c.rng, 1)}-{_L(c, 2)}{digits(c.rng, 2)}")
    elif n < 0.8:
        s = "W" + digits(c.rng, 9)
    else:
        s = digits(c.rng, 6)
    return _alnum_out(c, s)


def g_group(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice(["G" + digits(c.rng, 5), digits(c.rng, 6),
                                       _L(c, 2) + digits(c.rng, 4)]))


def g_account(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice([digits(c.rng, 9), digits(c.rng, 4) + "-" +
                                       digits(c.rng, 5), "A" + digits(c.rng, 7)]))


def g_invoice(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice(["INV-" + digits(c.rng, 6), digits(c.rng, 7),
                                       "S" + digits(c.rng, 8)]))


def g_card(c: Ctx) -> tuple[str, dict[str, Any]]:
    # test card numbers (not issuable): Visa/Mastercard/Amex documentation numbers
    s = c.rng.choice(["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881",
                      "3782 822463 10005"])
    if c.spoken:
        return spoken_digits(s.replace(" ", ""), c.rng, fillers=True), {}
    return s, {}


def g_license(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice([_L(c, 1) + digits(c.rng, 7),
                                       _L(c, 1) + digits(c.rng, 3) + "-" + digits(c.rng, 4) +
                                       "-" + digits(c.rng, 4),
                                       _L(c, 2) + digits(c.rng, 7), digits(c.rng, 9)]))


def g_vin(c: Ctx) -> tuple[str, dict[str, Any]]:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    s = str(c.rng.randint(1, 5)) + "".join(c.rng.choice(chars) for _ in range(10)) + digits(
        c.rng, 6)
    return _alnum_out(c, s)


def g_plate(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice([digits(c.rng, 1) + _L(c, 3) + digits(c.rng, 3),
                                       _L(c, 3) + "-" + digits(c.rng, 4),
                                       _L(c, 3) + digits(c.rng, 3)]))


def g_device(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice([_L(c, 2) + digits(c.rng, 4) + "-" + digits(c.rng, 4),
                                       digits(c.rng, 2) + _L(c, 1) + "-" + digits(c.rng, 4) +
                                       "-" + _L(c, 2),
                                       digits(c.rng, 1) + _L(c, 1) + digits(c.rng, 1) + _L(c, 3),
                                       "SN" + digits(c.rng, 8)]))


def g_url(c: Ctx) -> tuple[str, dict[str, Any]]:
    f, last = c.pick("first").lower(), c.pick("last").lower()
    site = c.pick("site")
    path = c.rng.choice([f"{f}.{last}", f"{f}{last}", f"patient/{c.rng.randint(1000, 99999)}"])
    if c.spoken:
        p = path.replace(".", " dot ").replace("/", " slash ")
        p = re.sub(r"(\d+)", lambda m: spoken_digits(m.group(1), c.rng), p)
        return f"{site.replace('.', ' dot ')} slash {p}".replace("-", " dash "), {}
    pre = c.rng.choice(["https://", "www.", "", "https://www."])
    return f"{pre}{site}/{path}", {}


def g_ip(c: Ctx) -> tuple[str, dict[str, Any]]:
    base = c.rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    ip = f"{base}.{c.rng.randint(1, 254)}"
    if c.spoken:
        parts = ip.split(".")
        sp = [c.rng.choice([spoken_digits(x, c.rng), two_digit(int(x)) if int(x) < 100 else
                            spoken_digits(x, c.rng)]) for x in parts]
        return " dot ".join(sp), {}
    return ip, {}


def g_otherid(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice(["PA" + digits(c.rng, 7), "C-" + digits(c.rng, 6),
                                       digits(c.rng, 10), "RX" + digits(c.rng, 7),
                                       _L(c, 1) + digits(c.rng, 2) + _L(c, 1) + digits(c.rng, 5)]))


def g_rx(c: Ctx) -> tuple[str, dict[str, Any]]:
    return _alnum_out(c, c.rng.choice([digits(c.rng, 7), "RX" + digits(c.rng, 6)]))


def g_street(c: Ctx) -> tuple[str, dict[str, Any]]:
    num = str(c.rng.randint(12, 9899))
    st = c.pick("street")
    if c.spoken:
        n = num if c.rng.random() < 0.0 else (
            two_digit(int(num[:-2])) + " " + two_digit(int(num[-2:])) if len(num) == 4 and
            num[-2] != "0" else spoken_digits(num, c.rng))
        return f"{n} {st.lower()}", {}
    return f"{num} {st}", {}


def g_unit(c: Ctx) -> tuple[str, dict[str, Any]]:
    u = f"{c.rng.randint(1, 40)}{c.rng.choice(['', 'A', 'B', 'C'])}"
    if c.spoken:
        letters = " ".join(ch.lower() for ch in u if ch.isalpha())
        num = two_digit(int("".join(ch for ch in u if ch.isdigit())))
        return f"apartment {num} {letters}".strip(), {}
    return c.rng.choice([f"Apt {u}", f"Unit {u}", f"#{u}"]), {}


def g_city(c: Ctx) -> tuple[str, dict[str, Any]]:
    return c.case(c.pick("city")), {}


def g_zip(c: Ctx) -> tuple[str, dict[str, Any]]:
    z = f"{c.rng.randint(10, 99)}{digits(c.rng, 3)}"
    if c.spoken:
        return spoken_digits(z, c.rng), {}
    return (z + "-" + digits(c.rng, 4)) if c.rng.random() < 0.15 else z, {}


def g_county(c: Ctx) -> tuple[str, dict[str, Any]]:
    return c.case(c.pick("county")), {}


def g_address(c: Ctx) -> tuple[str, dict[str, Any]]:
    i = c.rng.randrange(len(c.p["city"]))
    city, state = c.p["city"][i], c.p["state"][i]
    street, _ = g_street(c)
    unit, _ = g_unit(c)
    z, _ = g_zip(c)
    if c.spoken:
        bits = [street] + ([unit] if c.rng.random() < 0.4 else []) + [city.lower()]
        if c.rng.random() < 0.6:
            bits.append(z)
        return " ".join(bits), {}
    u = f", {unit}" if c.rng.random() < 0.4 else ""
    return f"{street}{u}, {city}, {state} {z}", {}


GENS: dict[str, Gen] = {
    "first": g_first, "last": g_last, "full": g_full, "spelled": g_spelled,
    "misspelled": g_misspelled, "employer": g_employer, "dob": g_dob, "visit": g_visit,
    "day": g_day, "age": g_age, "phone": g_phone, "email": g_email, "ssn": g_ssn,
    "last4": g_last4, "mrn": g_mrn, "plan": g_plan, "group": g_group, "account": g_account,
    "invoice": g_invoice, "card": g_card, "license": g_license, "vin": g_vin,
    "plate": g_plate, "device": g_device, "url": g_url, "ip": g_ip, "otherid": g_otherid,
    "rx": g_rx, "street": g_street, "unit": g_unit, "city": g_city, "zip": g_zip,
    "county": g_county, "address": g_address,
}

# --------------------------------------------------------------------------- no-PHI fillers

def n_dose(c: Ctx) -> str:
    amt = c.rng.choice([5, 10, 20, 25, 40, 50, 81, 100, 250, 500, 750, 1000])
    if c.spoken:
        w = {100: "one hundred", 250: "two hundred fifty", 500: "five hundred",
             750: "seven fifty", 1000: "one thousand"}.get(amt) or two_digit(amt)
        return f"{w} {c.rng.choice(['milligrams', 'milligram', 'mgs', 'units'])}"
    return f"{amt} {c.rng.choice(['mg', 'milligrams', 'mcg', 'units'])}"


def n_count(c: Ctx) -> str:
    n = c.rng.randint(1, 12)
    word = two_digit(n) if c.spoken or c.rng.random() < 0.5 else str(n)
    return f"{word} {c.rng.choice(['pills', 'tablets', 'refills', 'doses', 'capsules', 'puffs'])}"


def n_duration(c: Ctx) -> str:
    n = c.rng.choice([2, 3, 5, 7, 10, 14, 15, 20, 30, 45, 90])
    word = two_digit(n) if c.spoken or c.rng.random() < 0.5 else str(n)
    return f"{word} {c.rng.choice(['minutes', 'days', 'weeks', 'hours', 'months'])}"


def n_time(c: Ctx) -> str:
    h, m = c.rng.randint(1, 12), c.rng.choice([0, 15, 30, 45])
    if c.spoken:
        mm = "" if m == 0 else " " + two_digit(m)
        return f"{ONES[h] if h < 20 else two_digit(h)}{mm} {c.rng.choice(['am', 'pm', 'in the morning', 'in the afternoon', 'oclock'])}"  # noqa: E501
    return f"{h}:{m:02d} {c.rng.choice(['AM', 'PM', 'a.m.', 'p.m.'])}"


def n_money(c: Ctx) -> str:
    d, ce = c.rng.randint(5, 1900), c.rng.choice([0, 25, 50, 99, 17])
    if c.spoken:
        dw = two_digit(d) if d < 100 else (f"{ONES[d // 100]} hundred" + (
            f" {two_digit(d % 100)}" if d % 100 else "") if d < 1000 else
            f"{two_digit(d // 100)} {two_digit(d % 100) if d % 100 else 'hundred'}")
        return f"{dw} dollars" + (f" and {two_digit(ce)} cents" if ce else "")
    return f"${d}.{ce:02d}" if ce else f"${d:,}"


def n_vitals(c: Ctx) -> str:
    s, d = c.rng.choice([118, 125, 132, 140, 145, 150, 160]), c.rng.choice([70, 78, 82, 88, 90, 95])
    if c.spoken:
        sw = f"one {two_digit(s - 100)}" if s % 100 else "one hundred"
        return f"{sw} over {two_digit(d)}"
    return f"{s}/{d}"


def n_year(c: Ctx) -> str:
    y = c.rng.randint(1995, 2024)
    return year_words(y, c.rng) if c.spoken else str(y)


def n_menu(c: Ctx) -> str:
    n = c.rng.randint(1, 9)
    return ONES[n] if c.spoken else str(n)


def n_age(c: Ctx) -> str:
    a = c.rng.randint(18, 89)
    return two_digit(a) if c.spoken else str(a)


NGENS: dict[str, Callable[[Ctx], str]] = {
    "dose": n_dose, "count": n_count, "duration": n_duration, "time": n_time,
    "money": n_money, "vitals": n_vitals, "year": n_year, "menu": n_menu, "nage": n_age,
}

# --------------------------------------------------------------------------- templates
# A template: (agent_prompt or "", text, style) with style "S" spoken-only, "F" formatted-only,
# "*" either. ``{LABEL:gen}`` is a labelled value, ``{~gen}`` an unlabelled filler value,
# ``{KNOWN}`` in the agent prompt asks for ``known`` context built from the line's values.

DEV_PHI: list[tuple[str, str, str]] = [
    ("", "Hi, my name is {NAME:full} and I need to reschedule my appointment.", "*"),
    ("", "this is {NAME:first} calling about my mom {NAME:full}", "S"),
    ("", "Last name is {NAME:last}, that's {NAME:spelled}.", "*"),
    ("What's your date of birth?", "{DATE:dob}", "*"),
    ("", "my date of birth is {DATE:dob}", "S"),
    ("", "DOB {DATE:dob}, first name {NAME:first}.", "F"),
    ("", "I was born on {DATE:dob} if that helps", "*"),
    ("", "She was discharged on {DATE:visit} and needs a follow-up.", "*"),
    ("", "my appointment was on {DATE:visit} with doctor {NAME:last}", "*"),
    ("", "can I come in on {DATE:day} instead", "S"),
    ("", "My grandmother is {AGE:age} and she can't drive anymore.", "*"),
    ("", "he's {AGE:age} years old so we need someone to come to the house", "*"),
    ("", "You can reach me at {PHONE:phone}.", "*"),
    ("", "my number is {PHONE:phone}", "S"),
    ("What's the best number to call you back on?", "{PHONE:phone}", "*"),
    ("", "call my {~rel} {NAME:first} at {PHONE:phone} if I don't pick up", "*"),
    ("", "Please fax the records to {FAX:phone}.", "*"),
    ("", "the fax number for my doctors office is {FAX:phone}", "S"),
    ("", "My email is {EMAIL:email}.", "*"),
    ("", "send it to {EMAIL:email} please", "S"),
    ("", "My social is {SSN:ssn}.", "*"),
    ("", "last four of my social are {SSN:last4}", "*"),
    ("Can you verify the last four digits of your social security number?", "{SSN:last4}", "*"),
    ("", "Medical record number {MRN:mrn}.", "F"),
    ("", "my m r n is {MRN:mrn}", "S"),
    ("", "My member ID is {HEALTH_PLAN_ID:plan} and the group number is {HEALTH_PLAN_ID:group}.", "*"),  # noqa: E501
    ("", "my medicare number is {HEALTH_PLAN_ID:plan}", "S"),
    ("What's the member ID on your insurance card?", "it's {HEALTH_PLAN_ID:plan}", "*"),
    ("", "I'm calling about account number {ACCOUNT_NUMBER:account}.", "*"),
    ("", "the invoice number on the bill is {ACCOUNT_NUMBER:invoice}", "*"),
    ("", "I paid with the card ending in {ACCOUNT_NUMBER:last4}.", "*"),
    ("", "card number is {ACCOUNT_NUMBER:card}", "*"),
    ("", "My driver's license number is {LICENSE_NUMBER:license}.", "*"),
    ("", "his nursing license is {LICENSE_NUMBER:license}", "S"),
    ("", "The VIN on the car is {VEHICLE_ID:vin}.", "*"),
    ("", "my plate number is {VEHICLE_ID:plate} for the parking validation", "*"),
    ("", "The serial number on my insulin pump is {DEVICE_ID:device}.", "*"),
    ("", "pacemaker serial {DEVICE_ID:device}", "S"),
    ("", "I posted about it on {URL:url}.", "*"),
    ("", "the portal link is {URL:url}", "S"),
    ("", "The login came from {IP_ADDRESS:ip}.", "*"),
    ("", "it says my ip address is {IP_ADDRESS:ip}", "S"),
    ("", "The prior authorization number is {OTHER_ID:otherid}.", "*"),
    ("", "claim number {OTHER_ID:otherid}", "S"),
    ("", "I live at {ADDRESS:address}.", "*"),
    ("", "my address is {ADDRESS:street} in {ADDRESS:city}", "*"),
    ("", "we moved to {ADDRESS:city} last month, zip code {ADDRESS:zip}", "*"),
    ("", "I'm in {ADDRESS:county} so is there a closer clinic", "*"),
    ("", "I work at {NAME:employer} and they changed our insurance.", "*"),
    ("", "my employer is {NAME:employer}", "S"),
    ("", "yeah its {NAME:misspelled}{KNOWN}", "S"),
    ("Can I get your full name please?", "{NAME:full}", "*"),
    ("", "my husband {NAME:full} picks up my prescriptions for me", "S"),
    ("", "The refill for {NAME:full} was sent, Rx number {OTHER_ID:rx}.", "F"),
    ("", "um my number is {PHONE:phone} and my email {EMAIL:email}", "S"),
    ("", "Patient {NAME:full}, DOB {DATE:dob}, MRN {MRN:mrn}.", "F"),
    ("", "ok so the first name is {NAME:first} last name {NAME:spelled} and birthday {DATE:dob}", "S"),  # noqa: E501
    ("", "I need my lab results from {DATE:visit}, I'm at {ADDRESS:address}.", "*"),
    ("", "{NAME:first} here, the {~count} you gave me on {DATE:visit} are gone", "*"),
    ("", "my father {NAME:full} is {AGE:age} and lives alone on {ADDRESS:street}", "*"),
    ("", "fax the referral to {FAX:phone} attention {NAME:full}", "*"),
    ("", "My daughter works for {NAME:employer} and her manager is {NAME:full}.", "F"),
    ("", "his social is {SSN:ssn} and date of birth {DATE:dob}", "S"),
    ("", "the CGM transmitter ID is {DEVICE_ID:device}", "*"),
    ("", "Group {HEALTH_PLAN_ID:group}, subscriber {NAME:full}.", "F"),
    ("", "we're at {ADDRESS:street} {ADDRESS:unit}", "*"),
    ("", "i got a statement for {~money} on account {ACCOUNT_NUMBER:account}", "*"),
    ("", "tell {NAME:first} I said thanks for the ride", "*"),
    ("", "{NAME:first} {NAME:last} speaking", "S"),
    ("", "my roommate {NAME:first} found me on the floor on {DATE:visit}", "*"),
    ("", "Please update the MRN to {MRN:mrn}, the old one was a duplicate.", "*"),
    ("", "the glucose meter serial number is {DEVICE_ID:device}", "*"),
    ("", "my license plate is {VEHICLE_ID:plate}", "S"),
]

DEV_NONE: list[tuple[str, str, str]] = [
    ("", "I take {~dose} twice a day with food.", "*"),
    ("", "the doctor said {~count} every {~duration}", "S"),
    ("", "Can I come in at {~time}?", "*"),
    ("", "my blood pressure was {~vitals} this morning", "*"),
    ("", "The copay is {~money}.", "*"),
    ("", "press {~menu} for billing", "*"),
    ("", "I've been on this medication since {~year}.", "*"),
    ("", "May I ask a question about my bill?", "*"),
    ("", "you may want to call back in {~duration}", "S"),
    ("", "I will pick it up after {~time}", "*"),
    ("", "Is there a grace period on the payment?", "*"),
    ("", "mark it as urgent please", "S"),
    ("", "The bill says {~money} but I already paid {~money}.", "*"),
    ("", "I'm {~nage} and I've never had this problem before", "*"),
    ("", "it's been {~duration} and the pain is about a {~menu} out of ten", "S"),
    ("", "Take {~count} of the {~dose} tablets at bedtime.", "F"),
    ("", "how long will the results take", "S"),
    ("", "I had the surgery back in {~year} and I'm fine now.", "*"),
    ("", "we close early in june and july for summer hours", "S"),
    ("", "the wait time is about {~duration} right now", "*"),
    ("", "so {~count} in the morning and one at night right", "S"),
    ("", "Your appointment is confirmed, please arrive {~duration} early.", "F"),
    ("", "I need {~count} refilled, the {~dose} one", "S"),
    ("", "pulse was {~nage} and oxygen ninety eight percent", "S"),
    ("", "okay thank you so much have a good day", "S"),
    ("", "Press {~menu} to speak with a nurse, or press {~menu} to repeat.", "F"),
    ("", "it will be covered once you meet the deductible of {~money}", "*"),
    ("", "can you bill my insurance instead", "S"),
    ("", "by the grace of god the fever broke", "S"),
    ("", "There's a question mark next to the second charge.", "F"),
    ("", "I check my sugar {~count} a day and it's usually around {~nage}.", "*"),
    ("", "my temperature was ninety nine point four at {~time}", "S"),
]

TEST_PHI: list[tuple[str, str, str]] = [
    ("", "Good morning, you're speaking with {NAME:full}, I got a voicemail from you.", "*"),
    ("", "hey its {NAME:first} im the caregiver for {NAME:full}", "S"),
    ("", "Surname {NAME:last}. Spelled {NAME:spelled}.", "F"),
    ("", "yeah the last name {NAME:spelled} like it sounds", "S"),
    ("Please confirm the patient's birth date.", "um {DATE:dob}", "*"),
    ("", "The patient's birthday is {DATE:dob}, and she's new to the practice.", "*"),
    ("", "born {DATE:dob} in case you need it", "S"),
    ("", "They admitted him {DATE:visit} through the emergency room.", "*"),
    ("", "the last time I saw the cardiologist was {DATE:visit}", "*"),
    ("", "the surgery is scheduled for {DATE:day} right", "S"),
    ("", "Grandpa turned {AGE:age} last week and needs a home visit.", "*"),
    ("", "shes {AGE:age} and very hard of hearing", "S"),
    ("", "The callback number on file should be {PHONE:phone}.", "*"),
    ("Which phone number should we text?", "text me at {PHONE:phone}", "*"),
    ("", "oh my cell is {PHONE:phone} the old one is disconnected", "S"),
    ("", "The clinic fax line is {FAX:phone}, can you send the form there?", "*"),
    ("", "yeah fax {FAX:phone} is the one for the home health agency", "S"),
    ("", "Could you update my e-mail to {EMAIL:email}?", "*"),
    ("", "its {EMAIL:email} all lowercase", "S"),
    ("", "SSN on file: {SSN:ssn}.", "F"),
    ("", "the social security number is {SSN:ssn}", "S"),
    ("", "the last four are {SSN:last4} on my social", "*"),
    ("For verification, what are the last four of your SSN?", "{SSN:last4}", "*"),
    ("", "Her chart number, the MRN, is {MRN:mrn}.", "*"),
    ("", "medical record {MRN:mrn} at the hospital", "S"),
    ("", "Subscriber ID {HEALTH_PLAN_ID:plan} with Bluecross.", "F"),
    ("", "the id on the medicaid card is {HEALTH_PLAN_ID:plan}", "S"),
    ("", "policy group {HEALTH_PLAN_ID:group}", "*"),
    ("", "The statement has patient account {ACCOUNT_NUMBER:account} at the top.", "*"),
    ("", "invoice {ACCOUNT_NUMBER:invoice} was already paid", "*"),
    ("", "it was the visa ending {ACCOUNT_NUMBER:last4}", "S"),
    ("", "Charge it to {ACCOUNT_NUMBER:card} please.", "*"),
    ("", "State ID / driver license: {LICENSE_NUMBER:license}.", "F"),
    ("", "the DEA number on the script is {LICENSE_NUMBER:license}", "*"),
    ("", "vehicle identification number {VEHICLE_ID:vin}", "*"),
    ("", "The ambulance hit my car, tag {VEHICLE_ID:plate}.", "*"),
    ("", "Hearing aid serial no. {DEVICE_ID:device}.", "F"),
    ("", "the defibrillator id on the card says {DEVICE_ID:device}", "S"),
    ("", "You can see my fundraiser at {URL:url}.", "*"),
    ("", "go to {URL:url} to see the pictures", "S"),
    ("", "Our security tool flagged IP {IP_ADDRESS:ip} on her account.", "*"),
    ("", "the address the portal showed was {IP_ADDRESS:ip}", "S"),
    ("", "Reference case {OTHER_ID:otherid} from the appeals office.", "*"),
    ("", "the confirmation code they gave me was {OTHER_ID:otherid}", "S"),
    ("", "Ship it to {ADDRESS:address} please.", "*"),
    ("", "were over on {ADDRESS:street} near the school", "S"),
    ("", "Is there a location closer to {ADDRESS:city}? My zip is {ADDRESS:zip}.", "*"),
    ("", "we live out in {ADDRESS:county} now", "*"),
    ("", "My son drives for {NAME:employer}, so he can only come after six.", "*"),
    ("", "i got hurt at work at {NAME:employer}", "S"),
    ("", "this is {NAME:misspelled} returning your call{KNOWN}", "S"),
    ("Who am I speaking with?", "{NAME:first} {NAME:last}", "*"),
    ("", "my {~rel} {NAME:first} has power of attorney", "*"),
    ("", "Resident: {NAME:full}; DOB: {DATE:dob}; Phone: {PHONE:phone}.", "F"),
    ("", "uh {NAME:first} {NAME:last} and birthday {DATE:dob} and the number {PHONE:phone}", "S"),
    ("", "she was seen {DATE:visit} at the {ADDRESS:city} office by {NAME:full}", "*"),
    ("", "Prescription {OTHER_ID:rx} for {NAME:full} is ready.", "F"),
    ("", "my aunt {NAME:full} is {AGE:age} and lives at {ADDRESS:address}", "*"),
    ("", "send the fax to {FAX:phone} and cc {EMAIL:email}", "*"),
    ("", "member {HEALTH_PLAN_ID:plan} social {SSN:last4}", "S"),
    ("", "{ADDRESS:street} {ADDRESS:unit} {ADDRESS:city}", "*"),
    ("", "ask for {NAME:first} at the front desk, she knows me", "*"),
    ("", "honestly {NAME:first} {NAME:last} is who you want", "S"),
    ("", "record number {MRN:mrn}, the one from the children's hospital", "*"),
    ("", "Lookup by chart no. {MRN:mrn} returned nothing.", "F"),
    ("", "the oxygen concentrator has serial {DEVICE_ID:device} on the back", "*"),
    ("", "Device S/N: {DEVICE_ID:device}", "F"),
    ("", "the truck that hit us had the plate {VEHICLE_ID:plate}", "S"),
    ("", "VIN {VEHICLE_ID:vin}, a 2015 sedan.", "F"),
    ("", "my professional license number is {LICENSE_NUMBER:license}", "*"),
    ("", "Client IP {IP_ADDRESS:ip} requested the records.", "F"),
    ("", "visit {URL:url} for the discharge video", "*"),
]

TEST_NONE: list[tuple[str, str, str]] = [
    ("", "She's supposed to take {~dose} every morning.", "*"),
    ("", "the pharmacist said {~count} a day for {~duration}", "S"),
    ("", "Does {~time} still work for the nurse visit?", "*"),
    ("", "last reading was {~vitals} and the nurse wasn't worried", "*"),
    ("", "I owe {~money} after insurance?", "*"),
    ("", "i pressed {~menu} but it hung up", "S"),
    ("", "He stopped smoking in {~year}.", "*"),
    ("", "May we leave a message on this line?", "F"),
    ("", "will the pharmacy be open on sunday", "S"),
    ("", "Bill me later if that's allowed.", "F"),
    ("", "there is a grace period of {~duration} right", "S"),
    ("", "can you mark that refill as urgent", "S"),
    ("", "my mom is {~nage} and still works", "*"),
    ("", "Dr. office said to wait {~duration} between doses.", "*"),
    ("", "the june schedule is not posted yet", "S"),
    ("", "that may take a while, I will hold", "S"),
    ("", "Total due is {~money}, minimum payment {~money}.", "F"),
    ("", "ok so {~count} after meals and no more than {~dose} total", "S"),
    ("", "We reopen at {~time} tomorrow.", "*"),
    ("", "I used {~count} of the inhaler today already", "*"),
    ("", "sorry can you repeat that", "S"),
    ("", "thanks i will wait for the call", "S"),
    ("", "To hear these options again, press {~menu}.", "F"),
    ("", "the heart rate was {~nage} sitting and {~nage} after walking", "S"),
    ("", "Her A1c went from {~menu} point {~menu} to {~menu} point {~menu}.", "*"),
    ("", "i think the bill went to collections in {~year}", "S"),
    ("", "Mark your calendar: refills take {~duration} to process.", "F"),
    ("", "I missed {~count} last week, is that ok", "*"),
]

RELS = {"dev": POOLS["dev"]["relation"], "test": POOLS["test"]["relation"]}

TOKEN = re.compile(r"\{(?:([A-Z_]+):([a-z0-9]+)|~([a-z]+)|KNOWN)\}")


def strip_spoken(lit: str) -> str:
    """Literal template text as raw speech-to-text: lowercase, no punctuation."""
    lit = lit.lower().replace("'", "")
    return re.sub(r"  +", " ", re.sub(r"[.,;:?!/()]", "", lit))


def render(tpl: tuple[str, str, str], split: str, rng: random.Random) -> dict[str, Any]:
    prompt, text, style = tpl
    spoken = style == "S" or (style == "*" and rng.random() < 0.55)
    c = Ctx(split, spoken, rng)
    out = ""
    spans: list[dict[str, Any]] = []
    metas: list[dict[str, Any]] = []
    want_known = False
    pos = 0
    for m in TOKEN.finditer(text):
        lit = text[pos:m.start()]
        out += strip_spoken(lit) if spoken else lit
        pos = m.end()
        if m.group(0) == "{KNOWN}":
            want_known = True
            continue
        if m.group(3):
            kind = m.group(3)
            out += rng.choice(RELS[split]) if kind == "rel" else NGENS[kind](c)
            continue
        label, kind = m.group(1), m.group(2)
        value, meta = GENS[kind](c)
        spans.append({"start": len(out), "end": len(out) + len(value), "label": label})
        metas.append(meta)
        out += value
    tail = text[pos:]
    out += strip_spoken(tail) if spoken else tail
    spans = merge_adjacent(out, spans)
    line: dict[str, Any] = {"text": out, "spans": spans}
    ctx: dict[str, Any] = {}
    if prompt:
        ctx["previous_agent_text"] = prompt
    if want_known or (spans and rng.random() < 0.12):
        known: dict[str, Any] = {}
        names = [m["name"] for m in metas if m.get("known_name")]
        if names:
            known["names"] = names
        dobs = [m["dob"] for m in metas if "dob" in m]
        if dobs:
            known["dob"] = dobs[0]
        phones = [m["phone"] for m in metas if "phone" in m]
        if phones:
            known["phones"] = phones
        if known:
            ctx["known"] = known
    if ctx:
        line["context"] = ctx
    return line


def merge_adjacent(text: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Same-label values separated only by spaces or a comma are one span ("first last")."""
    merged: list[dict[str, Any]] = []
    for s in spans:
        prev = merged[-1] if merged else None
        if prev and prev["label"] == s["label"] and re.fullmatch(
                r"[ ,]*", text[prev["end"]:s["start"]]):
            prev["end"] = s["end"]
        else:
            merged.append(dict(s))
    return merged


def check(line: dict[str, Any]) -> None:
    text = line["text"]
    last = 0
    for s in line["spans"]:
        assert 0 <= s["start"] < s["end"] <= len(text), line
        assert s["start"] >= last, line
        assert text[s["start"]:s["end"]].strip() == text[s["start"]:s["end"]], line
        last = s["end"]


def build(split: str, phi: list[tuple[str, str, str]], none: list[tuple[str, str, str]],
          n_phi: int, n_none: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    order_phi = phi * (n_phi // len(phi)) + rng.sample(phi, n_phi % len(phi))
    order_none = none * (n_none // len(none)) + rng.sample(none, n_none % len(none))
    tpls = order_phi + order_none
    rng.shuffle(tpls)
    lines = []
    seen: set[str] = set()
    for tpl in tpls:
        for _ in range(20):  # avoid exact duplicate lines
            line = render(tpl, split, rng)
            if line["text"] not in seen:
                break
        seen.add(line["text"])
        check(line)
        lines.append(line)
    return [{"id": f"{split}-{i + 1:04d}", **ln} for i, ln in enumerate(lines)]


def main() -> None:
    splits = {
        "dev": build("dev", DEV_PHI, DEV_NONE, 250, 70, seed=20240401),
        "test": build("test", TEST_PHI, TEST_NONE, 185, 52, seed=90210417),
    }
    for name, lines in splits.items():
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for ln in lines:
                fh.write(json.dumps(ln, ensure_ascii=False) + "\n")
        print(f"{name}: {len(lines)} lines")


if __name__ == "__main__":
    main()
