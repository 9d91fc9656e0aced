from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from carecall.cli.phi import app

RUNNER = CliRunner()


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_detect_contract() -> None:
    stdin = "\n".join([
        json.dumps({"id": "a", "text": "my name is maggie oconnell"}),
        "",
        json.dumps({"id": "b", "text": "oh three oh three eighty two",
                    "context": {"previous_agent_text": "What is your date of birth?",
                                "known": {"names": ["Margaret O'Connell"], "dob": "1982-03-03",
                                          "phones": ["555-010-1234"]}}}),
        json.dumps({"id": "c", "text": "take two pills"}),
    ]) + "\n"
    result = RUNNER.invoke(app, ["detect"], input=stdin)
    assert result.exit_code == 0, result.output
    assert _lines(result.output) == [
        {"id": "a", "spans": [{"start": 11, "end": 26, "label": "NAME",
                               "text": "maggie oconnell"}]},
        {"id": "b", "spans": [{"start": 0, "end": 28, "label": "DATE",
                               "text": "oh three oh three eighty two"}]},
        {"id": "c", "spans": []},
    ]


def test_malformed_lines_get_errors_and_exit_2() -> None:
    stdin = "\n".join([
        "{not json",
        json.dumps({"id": "x"}),
        json.dumps({"id": "y", "text": 5}),
        json.dumps({"id": "z", "text": "hi", "context": {"known": {"dob": "03/03/82"}}}),
        json.dumps([1, 2]),
        json.dumps({"id": "ok", "text": "call 555-010-1234"}),
    ]) + "\n"
    result = RUNNER.invoke(app, ["detect"], input=stdin)
    assert result.exit_code == 2
    out = _lines(result.output)
    assert [o["id"] for o in out] == [None, "x", "y", "z", None, "ok"]
    assert all("error" in o for o in out[:5])
    assert out[5]["spans"] == [{"start": 5, "end": 17, "label": "PHONE", "text": "555-010-1234"}]


def test_redact_modes() -> None:
    stdin = "\n".join([
        json.dumps({"id": "1", "text": "this is maggie oconnell"}),
        json.dumps({"id": "2", "text": "maggie oconnell again, 555-010-1234"}),
    ]) + "\n"
    tag = _lines(RUNNER.invoke(app, ["redact"], input=stdin).output)
    assert [o["text"] for o in tag] == ["this is [NAME]", "[NAME] again, [PHONE]"]
    mask = _lines(RUNNER.invoke(app, ["redact", "--mode", "mask"], input=stdin).output)
    assert [o["text"] for o in mask] == ["this is [REDACTED]", "[REDACTED] again, [REDACTED]"]
    token = _lines(RUNNER.invoke(app, ["redact", "--mode", "token"], input=stdin).output)
    assert [o["text"] for o in token] == ["this is [NAME_1]", "[NAME_1] again, [PHONE_1]"]
    assert token[1]["spans"][0]["text"] == "maggie oconnell"


def test_real_process_streams_line_by_line() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "from carecall.cli.phi import app; app()", "detect"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps({"id": 1, "text": "my zip is nine oh two one oh"}) + "\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())  # answered before stdin closes
        assert first["spans"][0]["label"] == "ADDRESS"
        proc.stdin.write("bad\n")
        proc.stdin.close()
        second = json.loads(proc.stdout.readline())
        assert second == {"id": None, "error": "line is not valid JSON"}
        assert proc.wait(timeout=30) == 2
