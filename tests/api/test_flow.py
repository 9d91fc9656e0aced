"""The README path over HTTP: enrol, TOTP, login, CSRF, masked search, headers, limits."""

from __future__ import annotations

from datetime import timedelta

from tests.access.helpers import PASSWORD, SYSTEM, enrol_user, make_tenant
from tests.api.world import client_for

from carecall.access import apikeys, service
from carecall.access.totp import code_at
from carecall.api.app import create_api
from carecall.app import Carecall
from carecall.core.clock import FixedClock


def test_enrol_login_and_search_over_http(carecall: Carecall, clock: FixedClock) -> None:
    tenant = make_tenant(carecall)
    api = create_api(carecall, publish_heads=False)
    enrolment = service.add_user(carecall, SYSTEM, username="sam", role="supervisor",
                                 tenant_id=tenant.id)
    client = client_for(api)
    r = client.post("/api/v1/auth/enrol", json={"token": enrolment.token, "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["stage"] == "mfa"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    setup = client.post("/api/v1/auth/mfa/enrol").json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert setup["qr_svg_data_uri"].startswith("data:image/svg+xml;base64,")
    r = client.post("/api/v1/auth/mfa/verify",
                    json={"code": code_at(setup["secret"], clock.now())})
    assert r.status_code == 200
    assert len(r.json()["recovery_codes"]) == 10
    assert r.json()["totp_enrolled"] is True
    csrf = r.json()["csrf_token"]
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "sam"
    assert me.headers["cache-control"] == "no-store"
    assert me.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in me.headers["content-security-policy"]
    assert me.headers["strict-transport-security"].startswith("max-age=")
    # state change without the CSRF header is refused, with it allowed
    r = client.post("/api/v1/auth/break-glass", json={"reason": "patient_safety"})
    assert r.status_code == 403
    assert r.json()["code"] == "CSRF_FAILED"
    client.headers["X-CSRF-Token"] = csrf
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/me").json()["code"] == "AUTH_REQUIRED"


def test_idle_session_over_http(carecall: Carecall, clock: FixedClock) -> None:
    user = enrol_user(carecall, clock, "agent", make_tenant(carecall).id)
    client = client_for(create_api(carecall, publish_heads=False), user.session.token)
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=15))
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["code"] == "SESSION_EXPIRED"


def test_api_key_search_is_masked(carecall: Carecall, clock: FixedClock) -> None:
    from datetime import date

    from carecall.patients.model import PatientInput
    from carecall.patients.service import create_patient

    tenant = make_tenant(carecall)
    create_patient(carecall, SYSTEM, tenant.id, PatientInput(
        first_name="Testa", last_name="Person", dob=date(1980, 5, 17),
        phones=("+16175550142",)))
    _, secret = apikeys.create_key(carecall, SYSTEM, tenant.id, "sync",
                                   frozenset({"patients:search"}))
    client = client_for(create_api(carecall, publish_heads=False))
    client.headers["Authorization"] = f"Bearer {secret}"
    r = client.get(f"/api/v1/tenants/{tenant.id}/patients",
                   params={"purpose": "billing_enquiry", "phone": "+16175550142"})
    assert r.status_code == 200, r.text
    [found] = r.json()
    assert found["first_name"] == "T***"
    assert found["phones"] == ["***42"]
    assert "appointments" not in found
    assert found["billing"]["invoices"] == []
    assert "Testa" not in r.text
    assert "1980" not in r.text


def test_login_rate_limit_and_body_limit(carecall: Carecall) -> None:
    api = create_api(carecall, publish_heads=False, login_per_minute=3)
    client = client_for(api)
    codes = [client.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
             for _ in range(4)]
    assert [c.status_code for c in codes] == [401, 401, 401, 429]
    assert codes[-1].json()["code"] == "RATE_LIMITED"
    assert "retry-after" in codes[-1].headers
    big = client.post("/api/v1/auth/login", content=b"{" + b" " * 2_000_000 + b"}",
                      headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert big.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_cli_bootstrap_prints_a_one_time_link(tmp_path, monkeypatch, db_url) -> None:  # type: ignore[no-untyped-def]
    from carecall.cli.main import main
    from carecall.core.config import Settings
    from carecall.crypto.providers import create_local_kek

    create_local_kek(Settings(data_dir=tmp_path).kek_path)
    monkeypatch.setenv("CARECALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CARECALL_DATABASE_URL", db_url)
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["users", "bootstrap", "root"]) == 0
    assert "/enrol#token=" in out.getvalue()
    with redirect_stdout(io.StringIO()):
        assert main(["users", "bootstrap", "again"]) != 0
