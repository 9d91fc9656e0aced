"""``carecall call chat`` against the demo practice, driven through stdin."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from carecall.cli.main import main
from carecall.demo.seed import demo_patients


@pytest.fixture
def demo(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    monkeypatch.delenv("CARECALL_CONFIG", raising=False)
    assert main(["demo", "--no-serve"]) == 0


def test_chat_holds_a_call_with_the_demo_practice(
    demo: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    maggie = demo_patients(datetime.now(UTC))[0]
    dob = maggie.dob
    said = f"{maggie.first_name} {maggie.last_name}, {dob:%B} {dob.day} {dob.year}"
    lines = ["no", "when is my appointment", said, "confirm it", "what are your hours",
             "bye"]
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["call", "chat"]) == 0
    out = capsys.readouterr().out
    assert "automated AI assistant" in out
    assert "identity_verified" in out
    assert "is confirmed" in out
    assert "Monday to Friday" in out
    assert "(call ended: completed)" in out


def test_chat_hangs_up_on_an_empty_line(
    demo: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["call", "chat"]) == 0
    assert "(you hung up)" in capsys.readouterr().out


def test_chat_unknown_tenant_is_a_clear_error(
    demo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["call", "chat", "--tenant", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "No tenant 'nope'" in err
