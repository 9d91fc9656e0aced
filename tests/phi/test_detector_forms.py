"""Forms of speech the first corpus lacked (tests/phi/corpus/dev3.jsonl holds more of each):
digits in spoken groups and pauses, extensions, cues said after the value, spelled letters
("m as in mary", "alpha bravo"), letter prefixes, card numbers, URLs without a scheme,
numbered roads and street types that are words, cities before a state, titles, possessives,
relatives; and log lines, brand names and measures that are not PHI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecall.phi import cues
from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext, Label

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "phi"))

from score import score

DETECTOR = PhiDetector()
CORPUS = Path(__file__).parent / "corpus"

FOUND: list[tuple[str, str | None, list[tuple[str, Label]]]] = [
    # phones: spoken groups, pauses written as full stops, extensions, "at" before 7 digits
    ("my number is six one seven, five five five, oh one four two", None,
     [("six one seven, five five five, oh one four two", Label.PHONE)]),
    ("my number is six one four. five five five. oh one four two.", None,
     [("six one four. five five five. oh one four two", Label.PHONE)]),
    ("the office line is (503) 555-0139, ext. 204", None,
     [("(503) 555-0139, ext. 204", Label.PHONE)]),
    ("my work phone is 207.555.0174 x31", None, [("207.555.0174 x31", Label.PHONE)]),
    ("you can also try my wife at five five five zero one four four", None,
     [("five five five zero one four four", Label.PHONE)]),
    ("my birthday is june fifth and my number is five five five oh one oh one two three four",
     None, [("june fifth", Label.DATE),
            ("five five five oh one oh one two three four", Label.PHONE)]),
    ("Fax #: 312-555-0145", None, [("312-555-0145", Label.FAX)]),
    ("I'm faxing the consent from (646) 555-0103", None, [("(646) 555-0103", Label.FAX)]),
    # a cue said after the value, or in apposition
    ("w four four one two nine is my member id", None,
     [("w four four one two nine", Label.HEALTH_PLAN_ID)]),
    ("four four seven one is the last four on my card", None,
     [("four four seven one", Label.ACCOUNT_NUMBER)]),
    ("it's 4471, the last four of my social", None, [("4471", Label.SSN)]),
    # letters said with "as in", the spelling alphabet, a letter code joined by a dash
    ("subscriber id u as in uniform eight eight two one four nine", None,
     [("u as in uniform eight eight two one four nine", Label.HEALTH_PLAN_ID)]),
    ("a as in apple, b as in boy, seven seven one, four four two",
     "Can you read me the member ID on the front of the card?",
     [("a as in apple, b as in boy, seven seven one, four four two", Label.HEALTH_PLAN_ID)]),
    ("the serial is alpha bravo four four one nine", None,
     [("alpha bravo four four one nine", Label.DEVICE_ID)]),
    ("the serial number on the pump is PX dash four four one two", None,
     [("PX dash four four one two", Label.DEVICE_ID)]),
    ("the member id is j d... four four... seven one... two two", None,
     [("j d... four four... seven one... two two", Label.HEALTH_PLAN_ID)]),
    ("the invoice is INV 88-01742", None, [("INV 88-01742", Label.ACCOUNT_NUMBER)]),
    ("patient account no. PA-0071442", None, [("PA-0071442", Label.ACCOUNT_NUMBER)]),
    ("device_serial=CGM-77A-10482 battery=81%", None, [("CGM-77A-10482", Label.DEVICE_ID)]),
    ("S/N GX8841-220", None, [("GX8841-220", Label.DEVICE_ID)]),
    ("the wristband says mr dash zero zero seven seven one four", None,
     [("mr dash zero zero seven seven one four", Label.MRN)]),
    ("the ID on my Blue Cross card is YRB 884 21 7703", None,
     [("YRB 884 21 7703", Label.HEALTH_PLAN_ID)]),
    ("my card is 4111111111111111", None, [("4111111111111111", Label.ACCOUNT_NUMBER)]),
    # web addresses
    ("the link they texted me is bit.ly/3xKq9Lm", None, [("bit.ly/3xKq9Lm", Label.URL)]),
    ("go to oakdale pediatrics dot com forward slash forms", None,
     [("oakdale pediatrics dot com forward slash forms", Label.URL)]),
    ("sign in at mychart dot riverside health dot org", None,
     [("mychart dot riverside health dot org", Label.URL)]),
    ("http colon slash slash oakdale health dot com", None,
     [("http colon slash slash oakdale health dot com", Label.URL)]),
    # addresses
    ("it's 1500 Route 9 North", None, [("1500 Route 9 North", Label.ADDRESS)]),
    ("my address is 4410 Foxglove Run", None, [("4410 Foxglove Run", Label.ADDRESS)]),
    ("the address is 900 Bayview", None, [("900 Bayview", Label.ADDRESS)]),
    ("I'm at fourteen twenty two Pinecrest", None,
     [("fourteen twenty two Pinecrest", Label.ADDRESS)]),
    ("i live at three ten west twenty third street", None,
     [("three ten west twenty third street", Label.ADDRESS)]),
    ("I'm calling from Dayton, Ohio", None, [("Dayton", Label.ADDRESS)]),
    ("i live in Boise, ID 83702", None, [("Boise, ID 83702", Label.ADDRESS)]),
    ("i moved from Elkhart to South Bend last year", None,
     [("Elkhart", Label.ADDRESS), ("South Bend", Label.ADDRESS)]),
    ("i'm over in west haverford", None, [("west haverford", Label.ADDRESS)]),
    ("my parents are in Yonkers", None, [("Yonkers", Label.ADDRESS)]),
    ("i moved to St. Louis", None, [("St. Louis", Label.ADDRESS)]),
    # names
    ("this is pastor gideon ashby's wife", None, [("gideon ashby", Label.NAME)]),
    ("this is Marisol returning Dr. Feld's call", None,
     [("Marisol", Label.NAME), ("Feld", Label.NAME)]),
    ("i'm speaking with officer danny reyes", None, [("danny reyes", Label.NAME)]),
    ("my wife hope will call", None, [("hope", Label.NAME)]),
    ("my son victor is two", None, [("victor", Label.NAME)]),
    ("oluwaseun adeyemi needs a refill", None, [("oluwaseun adeyemi", Label.NAME)]),
    ("siddharth patel has an appointment", None, [("siddharth patel", Label.NAME)]),
    ("could Perpetua call me back", None, [("Perpetua", Label.NAME)]),
    ("Patient name: Hargreave, Wilhelmina", None, [("Hargreave, Wilhelmina", Label.NAME)]),
    ("this is dawn white returning your call", None, [("dawn white", Label.NAME)]),
    ("my neighbor samuel rice drives me in", None, [("samuel rice", Label.NAME)]),
    ("this is chase okafor from accounts", None, [("chase okafor", Label.NAME)]),
    ("penny hall speaking", None, [("penny hall", Label.NAME)]),
    ("hunter is my son", None, [("hunter", Label.NAME)]),
    ("Thanks, Priya", None, [("Priya", Label.NAME)]),
    ("my name is priya um fitzgerald", None, [("priya um fitzgerald", Label.NAME)]),
    # employers
    ("she's a nurse at Bellmont Regional", None, [("Bellmont Regional", Label.NAME)]),
    ("I got laid off from Brennick Tool and Die in the spring", None,
     [("Brennick Tool and Die", Label.NAME)]),
    ("my husband works over at tamarind foods", None, [("tamarind foods", Label.NAME)]),
    # fillers, contact-card letters, more addresses
    ("i live at seventy three fifty four uh willow court", None,
     [("seventy three fifty four uh willow court", Label.ADDRESS)]),
    ("T 406-555-0127 / F 406-555-0128", None,
     [("406-555-0127", Label.PHONE), ("406-555-0128", Label.FAX)]),
    ("faxes go to nine one six five five five oh one three seven", None,
     [("nine one six five five five oh one three seven", Label.FAX)]),
    ("I live at 123 Main St., Apt. 4B, Toledo, OH 43604.", None,
     [("123 Main St., Apt. 4B, Toledo, OH 43604", Label.ADDRESS)]),
    ("I live at 1600 Pennsylvania Ave NW, Washington, DC 20500", None,
     [("1600 Pennsylvania Ave NW, Washington, DC 20500", Label.ADDRESS)]),
    ("we moved to troy last month", None, [("troy", Label.ADDRESS)]),
    ("we moved to grand rapids last month", None, [("grand rapids", Label.ADDRESS)]),
    ("I live at 4521 May Place", None, [("4521 May Place", Label.ADDRESS)]),
    ("my site is walternguyen dot co dot uk", None,
     [("walternguyen dot co dot uk", Label.URL)]),
    ("my blog is at grannyknits dot blogspot dot com", None,
     [("grannyknits dot blogspot dot com", Label.URL)]),
    ("the m.r.n. is 4471902", None, [("4471902", Label.MRN)]),
    ("the serial number on my pump is three u seven double a h", None,
     [("three u seven double a h", Label.DEVICE_ID)]),
    # round 3: device labels, hardware addresses, serials far from their cue, fax forms,
    # spelled web addresses, lettered house numbers, mailboxes
    ("the udi barcode reads (01)00763000123458(17)281130(10)H7721(21)KX90012", None,
     [("(01)00763000123458(17)281130(10)H7721(21)KX90012", Label.DEVICE_ID)]),
    ("bluetooth address A4:C1:38:9F:22:0B keeps disconnecting", None,
     [("A4:C1:38:9F:22:0B", Label.DEVICE_ID)]),
    ("the serial number on the pod controller is 441-902-3318", None,
     [("441-902-3318", Label.DEVICE_ID)]),
    ("her loop recorder has serial LNQ 449017 S", None, [("LNQ 449017 S", Label.DEVICE_ID)]),
    ("s n four four one two nine eight three on the oxygen machine", None,
     [("four four one two nine eight three", Label.DEVICE_ID)]),
    ("fax line 216-555-0133 x 204", None, [("216-555-0133 x 204", Label.FAX)]),
    ("they faxed the order from 402 555 0115", None, [("402 555 0115", Label.FAX)]),
    ("Ph 216.555.0131 | Fx 216.555.0132", None,
     [("216.555.0131", Label.PHONE), ("216.555.0132", Label.FAX)]),
    ("facsimile: 651-555-0182", None, [("651-555-0182", Label.FAX)]),
    ("the link was bit dot l y slash three q z nine k", None,
     [("bit dot l y slash three q z nine k", Label.URL)]),
    ("the portal is w w w dot riverside family med dot org", None,
     [("w w w dot riverside family med dot org", Label.URL)]),
    ("my dot brightwaterhealth dot com forward slash signin is the login", None,
     [("my dot brightwaterhealth dot com forward slash signin", Label.URL)]),
    ("the house is 22A Hawthorn Way", None, [("22A Hawthorn Way", Label.ADDRESS)]),
    ("the mailbox is PMB 204, 9100 Market St", None,
     [("PMB 204, 9100 Market St", Label.ADDRESS)]),
    ("it's Rural Route 4 Box 88", None, [("Rural Route 4 Box 88", Label.ADDRESS)]),
    ("mail to Box 1120, Rural Route 2", None, [("Box 1120, Rural Route 2", Label.ADDRESS)]),
    ("it's po box 918, ashland, ky 41101", None,
     [("po box 918, ashland, ky 41101", Label.ADDRESS)]),
    ("ship it to five oh seven, um, willow bend road, unit d", None,
     [("five oh seven, um, willow bend road, unit d", Label.ADDRESS)]),
]


@pytest.mark.parametrize(("text", "asked", "expected"), FOUND)
def test_finds(text: str, asked: str | None, expected: list[tuple[str, Label]]) -> None:
    ctx = DetectContext(previous_agent_text=asked) if asked else None
    assert [(s.text, s.label) for s in DETECTOR.detect(text, ctx)] == expected


NOT_PHI = [
    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
    "INFO:     Application startup complete.",
    "HTTP 503 Service Unavailable from upstream, retrying in 4 s",
    "GET /healthz HTTP/1.1 200 OK",
    "Please hold while I transfer you to the NURSE LINE",
    "PATIENT SAFETY NOTICE: DO NOT SHARE THIS LINK",
    "we're open monday through friday eight to five",
    "I had COVID-19 in march",
    "I take Ozempic once a week",
    "the Jardiance is too expensive",
    "it's in Spanish",
    "I drove 20 miles on highway 101",
    "My Heart Rate Monitor beeps when it goes above 120",
    "the pacemaker model is 5076",
    "go north texas",
    "my son needs the prescription",
    "my wife will call",
    "the prescription for amoxicillin",
    "Medical Record # is on the form",
    "the policy holder has to sign",
    "I live in constant pain",
    "rose here to help",
    "this is grant money for the clinic",
    "this is crystal clear",
    "I work part time at the library",
    "i'm a patient at lakeside clinic",
    "the room is on floor 3",
    "i'm up in six weeks",
    "I logged in MyChart",
    "Merry Christmas from the team",
    "my pump is a model 770G",
    "the clinic is on the third floor, suite two",
    "We're located on the 2nd floor, Suite 200 is the lab.",
    "the fax went through at two fifteen",
    "10:14:03 sync ok in 12 ms",
]


@pytest.mark.parametrize("text", NOT_PHI)
def test_leaves_alone(text: str) -> None:
    assert DETECTOR.detect(text) == []


def test_machine_timestamp_is_a_date_not_an_identifier() -> None:
    text = "2026-11-23T12:00:03Z INFO carecall.jobs: job=reminder.send status=ok"
    assert [(s.text, s.label) for s in DETECTOR.detect(text)] == [("2026-11-23", Label.DATE)]


def _windows() -> list[str]:
    out: list[str] = []
    for name in ("dev.jsonl", "dev2.jsonl", "dev3.jsonl"):
        for raw in (CORPUS / name).read_text(encoding="utf-8").splitlines():
            text = json.loads(raw)["text"].lower()
            out += [text[max(0, k - 48) : k] for k in range(0, len(text), 7)]
    return out


def test_cue_word_filter_changes_no_answer_on_the_corpus() -> None:
    windows = _windows()
    assert len(windows) > 1000
    for window in windows:
        assert cues.closest_cue(window) == cues.closest_cue_unfiltered(window), window


CUE_PIECES = [*sorted(cues._PATTERN_WORDS), "i", "d", "my", "the", "is", "s/n", "#", "-",
              "e-mail", "e-fax", "efax", "faxes", "tag", "aid", "licence", "policyholder",
              "birthdate", "unitedhealthcare", "z i p", "m r n", "5", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CUE_PIECES), max_size=8))
def test_cue_word_filter_changes_no_answer(pieces: list[str]) -> None:
    window = " ".join(pieces)
    assert cues.closest_cue(window) == cues.closest_cue_unfiltered(window)


def test_dev3_lines_written_for_these_forms() -> None:
    lines = [json.loads(raw) for raw in
             (CORPUS / "dev3.jsonl").read_text(encoding="utf-8").splitlines()]
    preds = []
    for line in lines:
        ctx = DetectContext(previous_agent_text=(line.get("context") or {}).get(
            "previous_agent_text"))
        preds.append([(s.start, s.end, str(s.label)) for s in DETECTOR.detect(line["text"], ctx)])
    scores = score(lines, preds)
    assert scores.span.recall >= 0.98
    assert scores.char_precision >= 0.97
    assert scores.clean_lines >= 90
    assert scores.clean_lines_flagged <= 2


def _samples(pattern: str, count: int, seed: int) -> set[str]:
    """Strings the cue pattern matches, drawn at random from its parse tree."""
    import random
    from re import _parser  # type: ignore[attr-defined]

    rnd = random.Random(seed)

    def draw(tree: Any) -> str:
        out = ""
        for op, av in tree:
            if op is _parser.LITERAL:
                out += chr(av)
            elif op is _parser.IN:
                out += rnd.choice([chr(a) for o, a in av if o is _parser.LITERAL] or ["x"])
            elif op is _parser.BRANCH:
                out += draw(rnd.choice(av[1]))
            elif op is _parser.SUBPATTERN:
                out += draw(av[-1])
            elif op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT):
                low, high, sub = av
                out += "".join(draw(sub) for _ in range(rnd.randint(low, min(high, low + 2))))
            elif op is _parser.CATEGORY:
                out += " "
        return out

    tree = _parser.parse(pattern)
    return {draw(tree) for _ in range(count)}


def test_cue_word_filter_lets_every_cue_through() -> None:
    """Whatever a cue pattern can match, the word filter in front of it lets through."""
    for k, (pattern, _) in enumerate(cues._ID_CUES):
        for cue in _samples(pattern, 150, k):
            for window in (cue, f"my {cue} is", f"the {cue}"):
                assert cues.closest_cue(window) == cues.closest_cue_unfiltered(window), window


def test_holdout2_is_well_formed_and_covers_every_label() -> None:
    """The second held-out split (written for round 3, scored only by bench/phi) follows the
    corpus format; this reads its labels and offsets, never runs the detector on it."""
    labels = {str(label) for label in Label}
    lines = [json.loads(raw) for raw in
             (CORPUS / "holdout2.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 150
    assert sum(1 for line in lines if not line["spans"]) >= 30
    seen = set()
    for k, line in enumerate(lines, 1):
        assert line["id"] == f"holdout2-{k:04d}"
        last = 0
        for span in line["spans"]:
            value = line["text"][span["start"] : span["end"]]
            assert last <= span["start"] < span["end"] <= len(line["text"]), line["id"]
            assert value == value.strip(), line["id"]
            seen.add(span["label"])
            last = span["end"]
    assert seen == labels


def test_dev3_is_well_formed() -> None:
    """The hand-written split follows the corpus format (README): unique ids, spans inside the
    text, sorted, not overlapping, trimmed, known labels, context of the documented shape."""
    labels = {str(label) for label in Label}
    ids = set()
    for raw in (CORPUS / "dev3.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        assert set(line) <= {"id", "text", "context", "spans"}
        assert line["id"].startswith("dev3-")
        assert line["id"] not in ids
        ids.add(line["id"])
        assert set(line.get("context") or {}) <= {"previous_agent_text", "known"}
        last = 0
        for span in line["spans"]:
            value = line["text"][span["start"] : span["end"]]
            assert last <= span["start"] < span["end"] <= len(line["text"]), line["id"]
            assert value == value.strip(), line["id"]
            assert span["label"] in labels, line["id"]
            last = span["end"]
