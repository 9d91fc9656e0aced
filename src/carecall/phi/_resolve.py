"""From overlapping candidates to the detector's answer: the best non-overlapping spans, with
adjacent pieces of one name or one address joined."""

from __future__ import annotations

from carecall.phi._scan import Found
from carecall.phi.model import Label, Span

_JOINABLE = frozenset({Label.NAME, Label.ADDRESS})


def _best(found: list[Found]) -> list[Found]:
    """Highest priority first, then the longest; a candidate overlapping a kept one goes."""
    ordered = sorted(found, key=lambda f: (-f.priority, -(f.end - f.start), f.start))
    kept: list[Found] = []
    for cand in ordered:
        if cand.end > cand.start and not any(
                cand.start < k.end and k.start < cand.end for k in kept):
            kept.append(cand)
    kept.sort(key=lambda f: f.start)
    return kept


def resolve(text: str, found: list[Found]) -> list[Span]:
    merged: list[Found] = []
    for cur in _best(found):
        last = merged[-1] if merged else None
        if last is not None and last.label == cur.label and cur.label in _JOINABLE and (
                text[last.end : cur.start].strip(" ,") == ""):
            last.end = cur.end
            continue
        merged.append(Found(cur.start, cur.end, cur.label, cur.priority))
    return [Span(f.start, f.end, f.label, text[f.start : f.end]) for f in merged]
