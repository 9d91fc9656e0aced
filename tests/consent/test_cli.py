"""``carecall consent`` and ``carecall dnc`` against the demo practice, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from carecall.cli.main import main
from carecall.consent.store import consents, dnc_numbers
from carecall.store.db import Database

TENANT = "demo-clinic"


@pytest.fixture
def demo(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Database:
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    monkeypatch.delenv("CARECALL_CONFIG", raising=False)
    assert main(["demo", "--no-serve"]) == 0
    capsys.readouterr()
    database = Database(db_url)
    yield database  # type: ignore[misc]
    database.dispose()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _count(db: Database, table: object) -> int:
    with db.transaction() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_demo_seeds_written_consents_for_most_patients(demo: Database) -> None:
    assert _count(demo, consents) == 64  # 32 of 40 patients, calls and texts


def test_dnc_import_bad_lines_listed_and_nothing_imported(
    demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "dnc.txt"
    bad.write_text("+16175550300\nnonsense\n+16175550301\n12\n")
    code, _, err = run(capsys, "dnc", "import", TENANT, str(bad))
    assert code == 2
    assert "line 2: phone: not a valid phone number" in err
    assert "line 4: phone: not a valid phone number" in err
    assert err.strip().splitlines()[-1].startswith("carecall: dnc.txt: 2 bad line(s)")
    assert "Traceback" not in err
    assert _count(demo, dnc_numbers) == 0
    good = tmp_path / "dnc.csv"
    good.write_text("name,phone\nA,+16175550300\nB,617-555-0301\n")
    code, out, _ = run(capsys, "dnc", "import", TENANT, str(good))
    assert (code, out.strip()) == (0, "Added 2 number(s); 0 already listed.")
    code, out, _ = run(capsys, "dnc", "list", TENANT)
    assert "*******0300" in out
    assert "6175550300" not in out
    assert run(capsys, "dnc", "remove", TENANT, "+16175550300")[0] == 0
    code, _, err = run(capsys, "dnc", "remove", TENANT, "+16175550300")
    assert code == 1
    assert "not on the do-not-call list" in err


def test_consent_import_add_list_revoke(
    demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Demo patient 4 (index 4) has no consent: +16175550204.
    csv = tmp_path / "consents.csv"
    csv.write_text("phone,kind,form,given_at,evidence_kind,evidence_ref\n"
                   "+16175550204,text_messages,written,2026-11-01T09:00:00-05:00,e_signature,"
                   "ES-9\n")
    code, out, err = run(capsys, "consent", "import", TENANT, str(csv))
    assert (code, out.strip()) == (0, "Imported 1 consents."), err
    broken = tmp_path / "broken.csv"
    broken.write_text("phone,kind,form,given_at\n+16175550204,texts,written,yesterday\n")
    code, _, err = run(capsys, "consent", "import", TENANT, str(broken))
    assert code == 2
    assert "line 2: kind: must be one of" in err
    assert "line 2: given_at" in err
    assert _count(demo, consents) == 65
    code, out, _ = run(capsys, "patients", "search", TENANT, "--phone", "+16175550204")
    patient = out.split()[0]
    code, out, _ = run(capsys, "consent", "list", TENANT, patient)
    assert code == 0
    assert "text_messages" in out
    assert "********0204" in out
    consent_id = out.split()[0]
    assert run(capsys, "consent", "revoke", TENANT, consent_id)[0] == 0
    code, out, _ = run(capsys, "consent", "list", TENANT, patient)
    assert "revoked" in out
    code, _, err = run(capsys, "consent", "add", TENANT, patient, "--phone", "+16175550204",
                       "--kind", "automated_calls", "--form", "written")
    assert code == 2
    assert "signed form or an e-signature" in err


def test_opt_out_from_the_cli(demo: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "consent", "opt-out", TENANT, "--phone", "+16175550142")
    assert (code, out.strip()) == (0, "Opted out.")
    code, out, _ = run(capsys, "consent", "opt-out", TENANT, "--phone", "+16175550142")
    assert out.strip() == "Already opted out; nothing changed."
    code, _, err = run(capsys, "consent", "opt-out", TENANT)
    assert code == 2
    assert err.startswith("carecall: An opt-out needs")
