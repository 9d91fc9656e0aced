"""Conversation tests written as ``carecall call script`` scripts (tests/calls/scripts).

Each script line carries an ``expect`` block (ignored by the runner): the outcome, events
that must appear in order (with the fields given), events that must never appear, and text
the agent must or must never say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carecall.calls.simulator import Workspace, run_script
from carecall.cli.main import main

SCRIPTS = Path(__file__).parent / "scripts"
CASES = [json.loads(line) for line in (SCRIPTS / "conversations.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    made = Workspace()
    yield made
    made.close()


def _events(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in timeline if "event" in item]


def _agent(timeline: list[dict[str, Any]]) -> list[str]:
    return [item["text"] for item in timeline if item.get("speaker") == "agent"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_conversation(workspace: Workspace, case: dict[str, Any]) -> None:
    result = run_script(workspace, case)
    assert "error" not in result, result
    expect = case["expect"]
    timeline = result["timeline"]
    assert result["outcome"] == expect["outcome"], _agent(timeline)
    events = _events(timeline)
    position = 0
    for kind, fields in expect.get("events", []):
        while position < len(events) and not (
            events[position]["event"] == kind
            and all(events[position].get(k) == v for k, v in fields.items())
        ):
            position += 1
        assert position < len(events), f"missing {kind} {fields} in {events}"
        position += 1
    kinds = {e["event"] for e in events}
    for kind in expect.get("absent", []):
        assert kind not in kinds, events
    spoken = " ".join(_agent(timeline))
    for text in expect.get("said", []):
        assert text in spoken
    for text in expect.get("never_said", []):
        assert text not in spoken
    first = _agent(timeline)[0]
    for text in expect.get("first_said", []):
        assert text in first
    for text in expect.get("first_never_said", []):
        assert text not in first


def test_every_call_opens_with_the_ai_disclosure(workspace: Workspace) -> None:
    for case in CASES[:6]:
        result = run_script(workspace, case)
        timeline = result["timeline"]
        first = timeline[0]["text"]
        assert "automated AI assistant" in first
        assert "Riverside Family Practice" in first
        assert "617-555-0100" in first
        assert "Ava" in first
        assert [e["event"] for e in timeline[1:3]] == ["ai_disclosed", "provider_identified"]


def test_cli_runs_scripts_in_order_and_survives_malformed_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["call", "script", str(SCRIPTS / "malformed.jsonl")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("id") for line in lines] == ["no-tenant", None, "bad-caller", "ok"]
    assert "error" in lines[0]
    assert "tenant" in lines[0]["error"]
    assert "error" in lines[1]
    assert "error" in lines[2]
    assert lines[3]["outcome"] == "completed"


def test_cli_reads_stdin(monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(CASES[0]) + "\n"))
    assert main(["call", "script"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"] == CASES[0]["id"]
    assert out["outcome"] == CASES[0]["expect"]["outcome"]


def test_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "script", "/nonexistent/file.jsonl"]) == 2
    assert "No script file" in capsys.readouterr().err


def test_every_utterance_fits_in_a_minute_of_speech(workspace: Workspace) -> None:
    from carecall.calls.rules import within_one_minute

    for case in CASES:
        if case["call"].get("direction") != "outbound":
            continue
        for text in _agent(run_script(workspace, case)["timeline"]):
            assert within_one_minute(text), text


def test_silence_is_reprompted_exactly_twice(workspace: Workspace) -> None:
    case = next(c for c in CASES if c["id"] == "silence-twice-then-end")
    agent = _agent(run_script(workspace, case)["timeline"])
    assert sum("Are you still there?" in text for text in agent) == 2
    assert agent[-1].endswith("Goodbye.")
