"""Scoring of PHI detections against the labelled corpus (tests/phi/corpus), as pure functions.

The rules (documented in tests/phi/corpus/README.md):

- a gold span is *caught* when at least 80% of its non-space characters are covered by
  predicted spans: of any label for overall span recall, of the same label for per-label
  recall;
- *character precision* is the share of non-space characters inside predicted spans that lie
  inside some gold span, whatever the labels.

Derived groups the issue sets targets on are computed from the line itself: ``DOB`` is a DATE
span on a line that talks about birth (or whose context asks or knows a date of birth) and
``ZIP`` is an ADDRESS span, or the tail of one, made only of five digits (written or spoken).

The detector engineer may import these functions; nothing here reads files or the clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

THRESHOLD = 0.8
LABELS = (
    "NAME", "ADDRESS", "DATE", "AGE", "PHONE", "FAX", "EMAIL", "SSN", "MRN", "HEALTH_PLAN_ID",
    "ACCOUNT_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID", "DEVICE_ID", "URL", "IP_ADDRESS",
    "OTHER_ID",
)
#: Labels the issue holds to 0.99 recall (with the DOB and ZIP groups).
STRICT = ("PHONE", "FAX", "SSN", "EMAIL", "MRN", "HEALTH_PLAN_ID", "ACCOUNT_NUMBER",
          "LICENSE_NUMBER", "VEHICLE_ID", "DEVICE_ID", "URL", "IP_ADDRESS", "OTHER_ID",
          "DOB", "ZIP")

SpanT = tuple[int, int, str]  # (start, end, label)

_BIRTH = re.compile(r"\b(birth|born|dob|birthday|birth date)\b", re.IGNORECASE)
_DIGIT_WORD = (r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple|"
               r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|"
               r"nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
               r"uh|um|uhh)")
_ZIP_SPOKEN = re.compile(rf"(?:{_DIGIT_WORD}\s+){{2,}}{_DIGIT_WORD}$", re.IGNORECASE)
_ZIP_WRITTEN = re.compile(r"\d{5}(?:-\d{4})?$")


def _nonspace(text: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if not text[i].isspace()]


def coverage(text: str, spans: Iterable[SpanT], label: str | None = None) -> set[int]:
    """Indices of the non-space characters covered by ``spans`` (of ``label`` when given)."""
    out: set[int] = set()
    for start, end, lab in spans:
        if label is None or lab == label:
            out.update(_nonspace(text, max(0, start), min(len(text), end)))
    return out


def caught(text: str, gold: SpanT, covered: set[int], threshold: float = THRESHOLD) -> bool:
    chars = _nonspace(text, gold[0], gold[1])
    if not chars:
        return True
    return sum(1 for i in chars if i in covered) >= threshold * len(chars)


def _digits_only_zip(value: str) -> bool:
    v = value.strip()
    return bool(_ZIP_WRITTEN.fullmatch(v)) or bool(_ZIP_SPOKEN.fullmatch(v))


def zip_part(text: str, gold: SpanT) -> SpanT | None:
    """The ZIP code inside an ADDRESS gold span (the whole span, or its trailing five digits)."""
    start, end, label = gold
    if label != "ADDRESS":
        return None
    value = text[start:end]
    m = re.search(r"\d{5}(?:-\d{4})?$", value)
    if m:
        return (start + m.start(), end, "ZIP")
    words = list(re.finditer(r"\S+", value))
    digit_words = 0
    for w in reversed(words):
        if re.fullmatch(_DIGIT_WORD, w.group(), re.IGNORECASE):
            digit_words += 1
        else:
            break
    if digit_words >= 3 and digit_words == len(words):
        return (start, end, "ZIP")
    if digit_words >= 4:  # "... toledo five six nine oh six"
        first = words[len(words) - digit_words]
        return (start + first.start(), end, "ZIP")
    return None


def is_dob(line: Mapping[str, Any], gold: SpanT) -> bool:
    if gold[2] != "DATE":
        return False
    ctx = line.get("context") or {}
    if (ctx.get("known") or {}).get("dob"):
        return True
    if _BIRTH.search(ctx.get("previous_agent_text") or ""):
        return True
    return bool(_BIRTH.search(line["text"][: gold[0]]))


def gold_spans(line: Mapping[str, Any]) -> list[SpanT]:
    return [(s["start"], s["end"], s["label"]) for s in line["spans"]]


@dataclass
class Tally:
    caught: int = 0
    total: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.total if self.total else float("nan")


@dataclass
class Scores:
    lines: int = 0
    span: Tally = field(default_factory=Tally)
    per_label: dict[str, Tally] = field(default_factory=dict)
    pred_chars: int = 0
    pred_chars_in_gold: int = 0
    clean_lines: int = 0
    clean_lines_flagged: int = 0
    label_chars: dict[str, int] = field(default_factory=dict)
    """Non-space characters predicted with each label."""
    label_chars_in_gold: dict[str, int] = field(default_factory=dict)
    """Of those, the ones inside a gold span of the same label."""
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, value)
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def char_precision(self) -> float:
        return self.pred_chars_in_gold / self.pred_chars if self.pred_chars else 1.0

    def label(self, name: str) -> Tally:
        return self.per_label.setdefault(name, Tally())

    def label_precision(self, name: str) -> float:
        """Of the characters predicted as ``name``, the share inside gold spans of ``name``
        (NaN when nothing was predicted with that label)."""
        n = self.label_chars.get(name, 0)
        return self.label_chars_in_gold.get(name, 0) / n if n else float("nan")


def score_line(scores: Scores, line: Mapping[str, Any], predicted: Sequence[SpanT]) -> None:
    """Add one line's gold-versus-predicted comparison to ``scores``."""
    text: str = line["text"]
    gold = gold_spans(line)
    scores.lines += 1
    any_cov = coverage(text, predicted)
    gold_cov = coverage(text, gold)
    scores.pred_chars += len(any_cov)
    scores.pred_chars_in_gold += len(any_cov & gold_cov)
    for lab in {p[2] for p in predicted}:
        mine = coverage(text, predicted, lab)
        scores.label_chars[lab] = scores.label_chars.get(lab, 0) + len(mine)
        scores.label_chars_in_gold[lab] = scores.label_chars_in_gold.get(lab, 0) + len(
            mine & coverage(text, gold, lab))
    if not gold:
        scores.clean_lines += 1
        if any_cov:
            scores.clean_lines_flagged += 1
    for start, end, lab in predicted:
        value = text[start:end]
        if not coverage(text, [(start, end, lab)]) & gold_cov and value.strip():
            scores.false_positives.append((line["id"], lab, value))
    for g in gold:
        hit_any = caught(text, g, any_cov)
        scores.span.total += 1
        scores.span.caught += hit_any
        same = caught(text, g, coverage(text, predicted, g[2]))
        t = scores.label(g[2])
        t.total += 1
        t.caught += same
        if not hit_any:
            scores.misses.append((line["id"], g[2], text[g[0]:g[1]]))
        if is_dob(line, g):
            d = scores.label("DOB")
            d.total += 1
            d.caught += hit_any
        z = zip_part(text, g)
        if z is not None:
            zt = scores.label("ZIP")
            zt.total += 1
            zt.caught += caught(text, z, any_cov)


def score(lines: Sequence[Mapping[str, Any]], predictions: Sequence[Sequence[SpanT]]) -> Scores:
    """Score predictions (one list of (start, end, label) per line, in order) against gold."""
    if len(lines) != len(predictions):
        raise ValueError("one prediction list per corpus line")
    scores = Scores()
    for line, pred in zip(lines, predictions, strict=True):
        score_line(scores, line, pred)
    return scores


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); no interpolation, so p99 is a real sample."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
