"""``carecall campaigns`` end to end through the CLI: the walkthrough's commands, Twilio
played by the local stand-in; bad input gets a one-line error, exit 2 and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.campaigns.world import VOICE_TEMPLATE, call_requests, phones
from tests.channels.fake_twilio import FakeTwilio

from carecall.cli.main import main


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
        fake_twilio: FakeTwilio) -> Path:
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    monkeypatch.setenv("CARECALL_JOBS_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    monkeypatch.setenv("CARECALL_CAMPAIGN_POLL_INTERVAL", "0.1")
    monkeypatch.setenv("CARECALL_CAMPAIGN_NUMBER_INTERVAL", "0.2")
    monkeypatch.delenv("CARECALL_CONFIG", raising=False)
    for key, value in fake_twilio.settings_overrides().items():
        monkeypatch.setenv(f"CARECALL_{key.upper()}", value)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_walkthrough_and_bad_input(env: Path, fake_twilio: FakeTwilio,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "demo", "--no-serve")[0] == 0
    code, _, err = run(capsys, "campaigns", "create", "demo-clinic", "--template", "Hi {name}",
                       "--appointments-ahead", "0-48")
    assert code == 2
    assert "Unknown placeholder" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "campaigns", "create", "demo-clinic", "--template", "x",
                       "--appointments-ahead", "soon")
    assert code == 2
    assert "FROM-TO" in err
    code, out, _ = run(capsys, "campaigns", "list", "demo-clinic")
    assert code == 0
    assert "appointment" not in out  # nothing was created

    code, out, _ = run(capsys, "campaigns", "create", "demo-clinic", "--template",
                       VOICE_TEMPLATE, "--patients",
                       ",".join(_ids(capsys, ["+16175550142", "+16175550201"])))
    assert code == 0
    campaign = out.strip()
    assert run(capsys, "campaigns", "run", "demo-clinic", campaign)[0] == 1  # not planned
    code, out, _ = run(capsys, "campaigns", "plan", "demo-clinic", campaign)
    assert code == 0
    assert "2 targets: 2 allowed" in out
    # The CLI runs on the real clock: in New York's calling hours the calls go out now,
    # outside them they wait in the queue for 8:00.
    local = datetime.now(UTC).astimezone(ZoneInfo("America/New_York"))
    open_now = time(8, 1) <= local.time() <= time(20, 58)
    assert ("later" in out) is not open_now
    with phones(fake_twilio):
        code, out, _ = run(capsys, "campaigns", "run", "demo-clinic", campaign, "--wait")
    assert code == 0
    code, out, _ = run(capsys, "campaigns", "report", "demo-clinic", campaign, "--json")
    report = json.loads(out)
    if open_now:
        assert report["state"] == "completed"
        assert report["by_outcome"] == {"answered": 2}
        assert report["contacts_placed"] == 2
        assert sorted(call_requests(fake_twilio)) == ["+16175550142", "+16175550201"]
    else:
        assert report["state"] == "running"
        assert report["by_attempt_status"] == {"queued": 2}
        assert report["plan_reasons"] == {"OUTSIDE_CALLING_HOURS": 2}
        assert call_requests(fake_twilio) == []
    assert run(capsys, "campaigns", "report", "demo-clinic", "not-an-id")[0] == 1


def _ids(capsys: pytest.CaptureFixture[str], numbers: list[str]) -> list[str]:
    from carecall.access.model import Principal
    from carecall.app import open_app
    from carecall.core.config import load_settings
    from carecall.patients.service import find_patients
    from carecall.tenants.model import Purpose

    app = open_app(load_settings())
    try:
        return [str(find_patients(app, Principal.system("test"), "demo-clinic",
                                  purpose=Purpose.PATIENT_SUPPORT, phone=n)[0].id)
                for n in numbers]
    finally:
        app.close()
