"""``carecall audit`` commands, on a real database and a real key file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from tests.audit.audit_helpers import write_entries
from typer.testing import CliRunner

from carecall.audit.store import audit_entries
from carecall.cli.audit import app
from carecall.core.clock import FixedClock
from carecall.core.errors import IntegrityFailure, InvalidInput, NotFound
from carecall.store.db import Database

runner = CliRunner()


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("CARECALL_AUDIT_ORIGIN", "cli.test/audit")
    return tmp_path


def test_head_prove_consistency_verify(env: Path, db: Database, clock: FixedClock) -> None:
    ids = write_entries(db, clock, 5)
    result = runner.invoke(app, ["head"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("cli.test/audit\n5\n")
    assert (env / "keys" / "audit-signing.key.pub").exists()
    kept = env / "kept.checkpoint"
    kept.write_text(result.output)

    write_entries(db, clock, 4, start=5)
    assert runner.invoke(app, ["head"]).output.split("\n")[1] == "9"

    proof = json.loads(runner.invoke(app, ["prove", ids[2]]).output)
    assert (proof["index"], proof["tree_size"], proof["verified"]) == (2, 9, True)
    assert proof["root"] == proof["head_root"]
    by_index = runner.invoke(app, ["prove", "7"])
    assert by_index.exit_code == 0
    assert json.loads(by_index.output)["index"] == 7

    result = runner.invoke(app, ["consistency", str(kept)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verified"] is True

    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "tree size 9" in result.output


def test_failures_raise_carecall_errors(env: Path, db: Database, clock: FixedClock) -> None:
    write_entries(db, clock, 3)
    assert isinstance(runner.invoke(app, ["prove", "0"]).exception, InvalidInput)
    head = runner.invoke(app, ["head"]).output
    assert isinstance(runner.invoke(app, ["prove", "not-an-id"]).exception, InvalidInput)
    assert isinstance(
        runner.invoke(app, ["prove", "0b5e2c52-8f0e-4e5c-9a53-6d2e0c7c9a11"]).exception, NotFound
    )

    forged = env / "forged.checkpoint"
    forged.write_text(head.replace("\n3\n", "\n2\n"))
    assert isinstance(runner.invoke(app, ["consistency", str(forged)]).exception,
                      IntegrityFailure)

    with db.transaction() as s:
        s.execute(update(audit_entries).where(audit_entries.c.log_index == 1).values(
            body=b'{"tampered":true}'))
    result = runner.invoke(app, ["verify"])
    assert isinstance(result.exception, IntegrityFailure)
    assert result.exception.exit_code == 4
    assert "log index 1" in str(result.exception)
    assert "\n" not in str(result.exception)
