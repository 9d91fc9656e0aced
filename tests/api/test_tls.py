"""``carecall serve`` with TLS on a real socket: TLS 1.3 accepted, TLS 1.2 refused."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from carecall.app import Carecall
from carecall.cli.setup import serve_config
from carecall.core.errors import ConfigError


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _client(version: ssl.TLSVersion, cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.minimum_version = version
    context.maximum_version = version
    return context


@pytest.mark.slow
def test_tls13_only_on_a_real_socket(carecall: Carecall, tmp_path: Path) -> None:
    import uvicorn

    cert, key = _self_signed(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(serve_config(carecall, "127.0.0.1", port, tls_cert=cert,
                                         tls_key=key, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port)) as raw, _client(
            ssl.TLSVersion.TLSv1_3, cert
        ).wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := tls.recv(4096):
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200")
            assert b"strict-transport-security" in reply.lower()
        with socket.create_connection(("127.0.0.1", port)) as raw, pytest.raises(ssl.SSLError):
            _client(ssl.TLSVersion.TLSv1_2, cert).wrap_socket(raw, server_hostname="localhost")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_plain_http_refused_off_loopback(carecall: Carecall, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        serve_config(carecall, "0.0.0.0", 8443)
    with pytest.raises(ConfigError):
        serve_config(carecall, "0.0.0.0", 8443, behind_proxy=True)
    config = serve_config(carecall, "0.0.0.0", 8443, behind_proxy=True,
                          trusted_proxies=["10.0.0.5"])
    assert config.forwarded_allow_ips == ["10.0.0.5"]
    cert, key = _self_signed(tmp_path)
    assert serve_config(carecall, "0.0.0.0", 8443, tls_cert=cert, tls_key=key).is_ssl
