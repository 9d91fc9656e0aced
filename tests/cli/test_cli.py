"""The CLI as a newcomer meets it: set-up, the demo, and one-line errors for bad input."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from carecall.app import open_app
from carecall.audit.store import audit_entries
from carecall.cli.main import main
from carecall.core.config import load_settings
from carecall.patients.store import patients
from carecall.tenants.store import baas


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("CARECALL_DATA_DIR", str(data))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    monkeypatch.delenv("CARECALL_CONFIG", raising=False)
    return data


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "expected an error message"
    assert lines[-1].startswith("carecall: ")
    assert "Traceback" not in err


def test_init_creates_keys_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "data"  # the embedded default: SQLite in the data directory
    monkeypatch.setenv("CARECALL_DATA_DIR", str(env))
    monkeypatch.delenv("CARECALL_DATABASE_URL", raising=False)
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert "created store, kek, audit_signing_key" in out
    kek = env / "keys" / "kek.json"
    signing = env / "keys" / "audit-signing.key"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert stat.S_IMODE(signing.stat().st_mode) == 0o600
    before = (kek.read_bytes(), signing.read_bytes())
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert "nothing changed" in out
    assert (kek.read_bytes(), signing.read_bytes()) == before
    app = open_app(load_settings())
    with app.db.transaction() as session:
        created = session.execute(
            select(audit_entries.c.resource_type).where(audit_entries.c.action == "init.create")
        ).scalars()
        assert sorted(created) == ["audit_signing_key", "kek", "store"]
    app.close()


def test_demo_then_search_export_and_audit(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--no-serve")
    assert code == 0
    assert "40 synthetic patients" in out
    code, out, _ = run(capsys, "demo", "--no-serve")  # a second run changes nothing
    assert code == 0
    assert "with 0 synthetic patients" in out
    code, out, _ = run(capsys, "patients", "search", "demo-clinic", "--phone", "617 555 0142")
    assert code == 0
    assert "1 match(es)." in out
    patient_id = out.split()[0]
    code, out, _ = run(capsys, "patients", "export", "demo-clinic", patient_id)
    assert code == 0
    assert '"first_name": "Margaret"' in out
    code, out, _ = run(capsys, "audit", "head")
    assert code == 0
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0
    assert "OK" in out


def test_keys_rotate_then_data_rotation(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "demo", "--no-serve")
    code, out, _ = run(capsys, "keys", "rotate")
    assert code == 0
    assert "1 tenant keys rewrapped" in out
    code, out, _ = run(capsys, "keys", "rotate", "--data", "--tenant", "demo-clinic")
    assert code == 0
    assert "40 patients re-encrypted" in out
    code, out, _ = run(capsys, "patients", "search", "demo-clinic", "--phone", "+16175550142")
    assert "1 match(es)." in out


def test_commands_before_init_say_run_init(
    env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "tenants", "list")
    assert code == 3
    assert_one_line_error(err)
    assert "carecall init" in err


def test_missing_key_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "demo", "--no-serve")
    (env / "keys" / "kek.json").rename(env / "keys" / "kek.json.away")
    code, _, err = run(capsys, "patients", "search", "demo-clinic", "--phone", "+16175550142")
    assert code == 3
    assert_one_line_error(err)
    assert "kek.json" in err


def test_wrong_key_file(env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from carecall.crypto.providers import create_local_kek

    run(capsys, "demo", "--no-serve")
    other = tmp_path / "other" / "kek.json"
    create_local_kek(other)
    (env / "keys" / "kek.json").write_bytes(other.read_bytes())
    code, _, err = run(capsys, "patients", "search", "demo-clinic", "--phone", "+16175550142")
    assert code != 0
    assert_one_line_error(err)
    assert "Margaret" not in err


def test_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARECALL_DATABASE_URL", "postgresql://carecall:secret@127.0.0.1:1/nowhere")
    code, _, err = run(capsys, "init")
    assert code == 3
    assert_one_line_error(err)
    assert "unreachable" in err
    assert "secret" not in err


def test_malformed_csv_reports_every_problem_and_writes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "demo", "--no-serve")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "first_name,last_name,dob,phone\nAnn,Lee,1982-13-01,\n"
        "Bo,Yu,1990-01-01,12\nCy,,1970-01-01,\n"
    )
    code, _, err = run(capsys, "patients", "import", "demo-clinic", str(bad))
    assert code == 2
    assert "row 2: dob" in err
    assert "row 3: phone" in err
    assert "row 4: last_name" in err
    assert "nothing was imported" in err
    assert "Ann" not in err
    app = open_app(load_settings())
    with app.db.transaction() as session:
        assert len(session.execute(select(patients.c.id)).all()) == 40
    app.close()


def test_good_csv_and_fhir_import(
    env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "demo", "--no-serve")
    good = tmp_path / "good.csv"
    good.write_text("first_name,last_name,dob,phone\nAnn,Lee,1982-12-01,617-555-0190\n")
    code, out, _ = run(capsys, "patients", "import", "demo-clinic", str(good))
    assert code == 0
    assert "Imported 1 patients." in out


def test_unknown_tenant(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    code, _, err = run(capsys, "patients", "search", "nope", "--dob", "1980-01-01")
    assert code == 1
    assert_one_line_error(err)
    assert "No tenant" in err


def test_expired_baa_refuses_with_reason(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "demo", "--no-serve")
    app = open_app(load_settings())
    with app.db.transaction() as session:
        session.execute(update(baas).values(status="terminated"))
    app.close()
    code, _, err = run(capsys, "patients", "search", "demo-clinic", "--dob", "1980-01-01")
    assert code == 1
    assert_one_line_error(err)
    assert "business associate agreement" in err


def test_tampered_ciphertext(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "demo", "--no-serve")
    app = open_app(load_settings())
    with app.db.transaction() as session:
        pid, blob = session.execute(select(patients.c.id, patients.c.last_name)).first()  # type: ignore[misc]
        flipped = blob[:-1] + bytes([blob[-1] ^ 1])
        session.execute(update(patients).where(patients.c.id == pid).values(last_name=flipped))
    app.close()
    code, _, err = run(capsys, "patients", "export", "demo-clinic", str(pid))
    assert code == 4
    assert_one_line_error(err)


def test_bad_arguments(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    code, _, err = run(capsys, "patients", "search", "demo-clinic", "--dob", "03/03/1982")
    assert code == 2
    assert_one_line_error(err)
    code, _, err = run(capsys, "patients", "shred", "demo-clinic", "not-a-uuid")
    assert code == 2  # --yes missing is checked first
    code, _, err = run(
        capsys, "tenants", "baa", "add", "x", "--effective", "soon", "--signed-by", "A"
    )
    assert code in (1, 2)
    assert "Traceback" not in err


def test_usage_errors_are_typers_message_not_an_internal_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "patients", "export")
    assert code == 2
    assert "Missing argument" in err
    assert "internal error" not in err
    code, _, err = run(capsys, "no-such-command")
    assert code == 2
    assert "No such command" in err


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "CARECALL_DATA_DIR": str(tmp_path / "d"),
        "CARECALL_DATABASE_URL": "sqlite:////nonexistent-dir/x.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "carecall", "init"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("carecall: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("init", "serve", "demo", "keys", "tenants", "patients", "audit", "phi"):
        assert command in out
