"""Print carecall's misses, partial catches and false positives on a training split.

Usage: ``.venv/bin/python bench/phi/misses.py dev4a [dev4b ...] [--all]``

For tuning only: the held-out splits (``compare.HELD_OUT``) are refused before their file is
opened, so their lines are never printed. Each line with a problem is shown once with its gold
spans and carecall's spans; ``--all`` also lists label mismatches that still count as caught.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import CORPUS, HELD_OUT, carecall_engine  # noqa: E402
from score import caught, coverage, gold_spans  # noqa: E402


def problems(line: dict[str, Any], pred: list[tuple[int, int, str]], show_all: bool
             ) -> list[str]:
    text: str = line["text"]
    gold = gold_spans(line)
    any_cov = coverage(text, pred)
    gold_cov = coverage(text, gold)
    out: list[str] = []
    for g in gold:
        if not caught(text, g, any_cov):
            out.append(f"MISS {g[2]}: {text[g[0]:g[1]]!r}")
        elif show_all and not caught(text, g, coverage(text, pred, g[2])):
            out.append(f"LABEL {g[2]}: {text[g[0]:g[1]]!r}")
    for p in pred:
        mine = coverage(text, [p])
        extra = mine - gold_cov
        if extra:
            kind = "FP" if not mine & gold_cov else "OVER"
            out.append(f"{kind} {p[2]}: {text[p[0]:p[1]]!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("splits", nargs="+")
    ap.add_argument("--all", action="store_true", help="also show label mismatches")
    args = ap.parse_args(argv)
    engine = carecall_engine()
    for split in args.splits:
        if split in HELD_OUT:
            print(f"{split}: held out, refused (figures only: bench/phi/run.sh)",
                  file=sys.stderr)
            return 2
        with (CORPUS / f"{split}.jsonl").open(encoding="utf-8") as fh:
            lines = [json.loads(row) for row in fh if row.strip()]
        for line in lines:
            pred = engine(line)
            found = problems(line, pred, args.all)
            if found:
                print(f"{line['id']}: {line['text']!r}")
                ctx = line.get("context")
                if ctx:
                    print(f"    context: {json.dumps(ctx)}")
                for row in found:
                    print(f"    {row}")
                print("    pred: " + ", ".join(
                    f"{lab}:{line['text'][s:e]!r}" for s, e, lab in pred))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
