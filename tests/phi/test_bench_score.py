"""bench/phi/score.py counts what its docstring says: 80% non-space coverage, char precision."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "phi"))

from score import percentile, score, zip_part


def line(text: str, *spans: tuple[int, int, str], **extra: object) -> dict[str, object]:
    return {"id": "x", "text": text, "spans": [{"start": s, "end": e, "label": lab}
                                               for s, e, lab in spans], **extra}


def test_eighty_percent_of_non_space_characters_catches_a_span() -> None:
    text = "call 614 555 0142 now"
    gold = line(text, (5, 17, "PHONE"))
    assert score([gold], [[(5, 14, "PHONE")]]).span.caught == 0  # 7 of 10 digits
    assert score([gold], [[(5, 16, "PHONE")]]).span.caught == 1  # 9 of 10 digits
    s = score([gold], [[(5, 17, "FAX")]])
    assert s.span.recall == 1.0
    assert s.per_label["PHONE"].recall == 0.0


def test_character_precision_ignores_spaces_and_labels() -> None:
    text = "my name is rosa lee"
    s = score([line(text, (11, 19, "NAME"))], [[(3, 19, "ADDRESS")]])
    # predicted non-space chars: "name" "is" "rosa" "lee" = 13; inside gold: 7
    assert abs(s.char_precision - 7 / 13) < 1e-9


def test_clean_lines_and_groups() -> None:
    s = score([line("press one"), line("born 3/4/1950", (5, 13, "DATE"))],
              [[(6, 9, "PHONE")], [(5, 13, "DATE")]])
    assert s.clean_lines_flagged == 1
    assert s.per_label["DOB"].recall == 1.0
    assert zip_part("Boise, ID 83702", (0, 15, "ADDRESS")) == (10, 15, "ZIP")
    assert zip_part("toledo five six nine oh six", (0, 27, "ADDRESS")) == (7, 27, "ZIP")
    assert zip_part("5 Elm Street", (0, 12, "ADDRESS")) is None
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0


def test_per_label_precision_counts_same_label_characters() -> None:
    text = "fax 614 555 0142 or serial ab12"
    gold = line(text, (4, 16, "FAX"), (27, 31, "DEVICE_ID"))
    s = score([gold], [[(4, 16, "PHONE"), (20, 31, "DEVICE_ID")]])
    assert s.label_chars["PHONE"] == 10
    assert s.label_precision("PHONE") == 0.0  # a fax labelled PHONE: right place, wrong label
    # "serialab12" = 10 non-space chars predicted as DEVICE_ID, 4 of them inside the gold one
    assert abs(s.label_precision("DEVICE_ID") - 4 / 10) < 1e-9
    assert s.label_precision("NAME") != s.label_precision("NAME")  # NaN: nothing predicted
