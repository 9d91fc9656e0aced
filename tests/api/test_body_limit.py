"""Oversized bodies are refused on a real socket, including chunked ones with no length."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from carecall.api.app import MAX_BODY
from carecall.app import Carecall
from carecall.cli.setup import serve_config


@pytest.fixture
def base_url(carecall: Carecall) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(serve_config(carecall, "127.0.0.1", port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"username": "x", "password": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_chunked_body_over_the_limit_is_refused(base_url: str) -> None:
    reply = httpx.post(base_url + "/api/v1/auth/login", content=chunks(MAX_BODY * 2),
                       headers={"content-type": "application/json"})
    assert reply.status_code == 413
    assert reply.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_small_chunked_body_reaches_the_handler(base_url: str) -> None:
    reply = httpx.post(base_url + "/api/v1/auth/login", content=chunks(1000, 100),
                       headers={"content-type": "application/json"})
    assert reply.status_code == 401
    assert reply.json()["code"] == "AUTH_FAILED"


def test_declared_length_over_the_limit_is_refused(base_url: str) -> None:
    reply = httpx.post(base_url + "/api/v1/auth/login", content=b"x" * (MAX_BODY + 1),
                       headers={"content-type": "application/json"})
    assert reply.status_code == 413
