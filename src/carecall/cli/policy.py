"""``carecall policy check``: the outbound policy over JSON Lines (a stable contract).

One JSON object per input line (see ``carecall.policy.wire`` and README), one line out per
input line, in order, flushed after each so the command works as a co-process::

    {"id": "c1", "decision": "allow|deny", "reasons": [...], "retry_after": "...Z" | null}

A malformed line gets ``{"id": <id or null>, "error": "<what is wrong>"}`` and the stream goes
on; the exit code is 2 if any line was malformed, else 0. Blank lines are skipped.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import typer

from carecall.core.errors import InvalidInput
from carecall.policy.rules import decide
from carecall.policy.wire import parse_line, render

app = typer.Typer(help="Decide outbound contacts with the TCPA/HIPAA policy (JSON Lines).",
                  no_args_is_help=True)


def _loose_id(line: str) -> Any:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    ident = obj.get("id") if isinstance(obj, dict) else None
    return ident if isinstance(ident, str | int | float) and not isinstance(ident, bool) else None


def check_stream(source: TextIO, sink: TextIO) -> int:
    """Decide every line of ``source`` into ``sink``; 2 if any line was malformed."""
    failed = False
    for raw in source:
        line = raw.strip()
        if not line:
            continue
        try:
            ident, request = parse_line(line)
            out = render(ident, decide(request))
        except InvalidInput as error:
            failed = True
            out = {"id": _loose_id(line), "error": error.message}
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()
    return 2 if failed else 0


@app.command()
def check() -> None:
    """Read contact requests on stdin (JSON Lines), write one decision per line on stdout.

    Each output line is {"id", "decision": "allow|deny", "reasons": [...], "retry_after"}; a
    malformed line gets {"id", "error"} and the exit code is then 2. Input format: README,
    "Outbound policy".
    """
    raise typer.Exit(check_stream(sys.stdin, sys.stdout))


@app.callback()
def _group() -> None:
    """Keep ``check`` a sub-command even while it is the only one."""
