"""``carecall serve`` as a real process on loopback: health, readiness, refusal to go public."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    environ = {**os.environ, "CARECALL_DATA_DIR": str(data), "CARECALL_DATABASE_URL": db_url}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "carecall", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    pytest.fail(proc.stderr.read().decode() if proc.stderr else "server died")
                time.sleep(0.2)
        yield base, data
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_health_and_readiness_over_http(server: tuple[str, Path]) -> None:
    base, data = server
    assert httpx.get(base + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(base + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "keys": "ok"}
    assert ready.headers["x-request-id"]
    openapi = httpx.get(base + "/openapi.json").json()
    assert {"/healthz", "/readyz"} <= set(openapi["paths"])
    (data / "keys" / "kek.json").rename(data / "keys" / "kek.moved")
    down = httpx.get(base + "/readyz")
    assert down.status_code == 503
    assert down.json()["keys"] == "KEY_UNAVAILABLE"


def test_serve_refuses_a_public_address_without_tls(tmp_path: Path) -> None:
    environ = {**os.environ, "CARECALL_DATA_DIR": str(tmp_path / "d")}
    environ.pop("CARECALL_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "carecall", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "TLS" in result.stderr
    assert "Traceback" not in result.stderr
