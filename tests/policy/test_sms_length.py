"""GSM-7 versus UCS-2, extension characters, and segments (3GPP TS 23.038 / 23.040)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.policy.factories import PRACTICE, request

from carecall.policy import decide
from carecall.policy.sms_length import measure, too_long

NOTICE = f"{PRACTICE}: Reply STOP to opt out."


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("€" * 80, "GSM-7", 160, 1),           # extension characters count two
    ("€" * 80 + "a", "GSM-7", 161, 2),
    ("a" * 159 + "[", "GSM-7", 161, 2),
    ("{}[]~|^\\€\f", "GSM-7", 20, 1),
    ("Ñandú à São", "UCS-2", 11, 1),       # ú and ã are not in GSM-7
    ("é" * 160, "GSM-7", 160, 1),          # é is
    ("ć" * 70, "UCS-2", 70, 1),
    ("ć" * 71, "UCS-2", 71, 2),
    ("a" * 69 + "ć", "UCS-2", 70, 1),
    ("a" * 70 + "ć", "UCS-2", 71, 2),
    ("€" * 69 + "ć", "UCS-2", 70, 1),     # in UCS-2, € is one unit like any other
    ("😀" * 35, "UCS-2", 70, 1),           # outside the BMP: a surrogate pair, two units
    ("😀" * 35 + "a", "UCS-2", 71, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("ć" * 134, "UCS-2", 134, 2),
    ("ć" * 135, "UCS-2", 135, 3),
])
def test_measure(text: str, encoding: str, units: int, segments: int) -> None:
    m = measure(text)
    assert (m.encoding, m.units, m.segments, m.characters) == (encoding, units, segments,
                                                               len(text))


def test_an_escape_pair_never_straddles_two_segments() -> None:
    # 152 basic + one extension (2 septets) would make 154 > 153: the pair moves on
    assert measure("a" * 152 + "€" + "a" * 10).segments == 2
    assert measure("a" * 152 + "€" + "a" * 152).segments == 3
    # a surrogate pair likewise in UCS-2 (67 units a segment)
    assert measure("ć" * 66 + "😀" + "ć" * 10).segments == 2
    assert measure("ć" * 66 + "😀" + "ć" * 66).segments == 3


@pytest.mark.parametrize(("filler", "length", "too"), [
    ("a", 160, False), ("a", 161, True),
    ("€", 160, False), ("€", 161, True),   # counted in septets: one € is two
    ("ć", 70, False), ("ć", 71, True),
])
def test_sms_too_long_at_the_edges(filler: str, length: int, too: bool) -> None:
    # build a text of exactly ``length`` units around the required notice
    base = NOTICE + " "
    if filler == "ć":
        base = f"{PRACTICE}: Reply STOP ć"
    unit = 2 if filler == "€" else 1
    used = measure(base).units
    body = base + filler * ((length - used) // unit)
    if (length - used) % unit:
        body += "a"
    assert measure(body).units == length
    assert too_long(body) is too
    assert ("SMS_TOO_LONG" in decide(request(msg={"text": body})).codes) is too


@given(st.text(max_size=400))
def test_measure_is_consistent(text: str) -> None:
    m = measure(text)
    assert m.characters == len(text)
    assert m.units >= len(text)
    if m.encoding == "UCS-2":
        assert m.units == len(text.encode("utf-16-le")) // 2
        per = 67
        single = 70
    else:
        per, single = 153, 160
    if m.units == 0:
        assert m.segments == 0
    elif m.units <= single:
        assert m.segments == 1
    else:
        # at least enough segments for the units, at most one more per escape/surrogate slack
        assert -(-m.units // per) <= m.segments <= -(-m.units // (per - 1))
