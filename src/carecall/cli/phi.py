"""``carecall phi``: PHI detection and redaction over JSON Lines (a stable contract).

Input, one object per line: ``{"id": ..., "text": "...", "context": {...}?}``.
``detect`` writes ``{"id": ..., "spans": [{"start", "end", "label", "text"}]}`` per line;
``redact`` writes ``{"id": ..., "text": "<redacted>", "spans": [...]}``. Offsets are Python
string indices into the input text. Output is flushed after every line, so the command works
as a co-process.

- A malformed line (bad JSON, no ``text``, wrong types) gets ``{"id": <id or null>,
  "error": "..."}`` and the stream goes on; the exit code is 2 if any line failed.
- Blank lines are skipped (no output line), so a trailing newline is harmless.
- In ``--mode token`` the whole stream is one conversation: one token map for the run, so
  ``[NAME_1]`` is the same person on every line. The map is not written out.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TextIO

import typer

from carecall.core.errors import InvalidInput
from carecall.phi.detector import PhiDetector
from carecall.phi.model import DetectContext, Span
from carecall.phi.redact import Mode, TokenMap, redact
from carecall.phi.wire import parse_line

app = typer.Typer(help="Find and redact PHI in transcripts (JSON Lines on stdin).",
                  no_args_is_help=True)

Handler = Callable[[str, DetectContext | None, list[Span]], dict[str, Any]]


def _loose_id(line: str) -> Any:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    ident = obj.get("id") if isinstance(obj, dict) else None
    return ident if isinstance(ident, str | int) else None


def _stream(source: TextIO, sink: TextIO, handle: Handler) -> int:
    detector = PhiDetector()
    failed = False
    for raw in source:
        line = raw.strip()
        if not line:
            continue
        try:
            ident, text, context = parse_line(line)
            spans = detector.detect(text, context)
            out: dict[str, Any] = {"id": ident, **handle(text, context, spans)}
        except InvalidInput as error:
            failed = True
            out = {"id": _loose_id(line), "error": error.message}
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()
    return 2 if failed else 0


@app.command()
def detect() -> None:
    """Write the PHI spans of each input line."""
    code = _stream(sys.stdin, sys.stdout,
                   lambda _t, _c, spans: {"spans": [s.as_json() for s in spans]})
    raise typer.Exit(code)


@app.command(name="redact")
def redact_command(
    mode: Annotated[Mode, typer.Option(help="tag: [DATE]; mask: [REDACTED]; token: [NAME_1], "
                                            "stable across the whole input stream")] = Mode.TAG,
) -> None:
    """Write each input line with its PHI replaced."""
    token_map = TokenMap() if mode is Mode.TOKEN else None

    def handle(text: str, _context: DetectContext | None, spans: list[Span]) -> dict[str, Any]:
        return {"text": redact(text, spans, mode, token_map),
                "spans": [s.as_json() for s in spans]}

    raise typer.Exit(_stream(sys.stdin, sys.stdout, handle))
