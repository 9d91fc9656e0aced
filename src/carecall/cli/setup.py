"""``carecall init``, ``serve`` and ``demo``: from nothing to a running practice."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from carecall.app import Carecall, open_app
from carecall.audit.model import AuditEvent
from carecall.audit.signing import load_or_create_signing_key
from carecall.audit.store import append
from carecall.cli.context import CLI_PRINCIPAL
from carecall.core.config import load_settings
from carecall.core.errors import ConfigError
from carecall.crypto.providers import create_local_kek
from carecall.store import migrate

if TYPE_CHECKING:
    import uvicorn

console = Console(stderr=True)


def initialise(app: Carecall) -> list[str]:
    """Create what is missing (data dir, database schema, KEK file, audit signing key) and
    record each creation in the audit log. Never overwrites a key; safe to run again."""
    settings = app.settings
    created: list[str] = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    before = None
    app.db.ping()
    before = migrate.current_revision(app.db.engine)
    migrate.upgrade(app.db.engine)
    if before != migrate.current_revision(app.db.engine):
        created.append("store")
    if settings.key_provider == "local" and create_local_kek(settings.kek_path):
        created.append("kek")
    app.key_provider.check()
    _, made = load_or_create_signing_key(settings.audit_key_path)
    if made:
        created.append("audit_signing_key")
    if created:
        with app.db.transaction() as session:
            for what in created:
                append(
                    session,
                    AuditEvent(actor=CLI_PRINCIPAL.actor, action="init.create", resource_type=what),
                    app.clock,
                )
    return created


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context that speaks TLS 1.3 only (45 CFR 164.312(e)(1) transmission
    security; NIST SP 800-52r2): a TLS 1.2 client fails the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (OSError, ssl.SSLError):
        raise ConfigError(
            f"Cannot load the TLS certificate {cert} with key {key}; check both PEM files."
        ) from None
    return context


def serve_config(
    app: Carecall,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    behind_proxy: bool = False,
    trusted_proxies: Sequence[str] = (),
    log_level: str = "info",
    workers: int = 1,
) -> uvicorn.Config:
    """The uvicorn configuration. Plain HTTP on a non-loopback address is refused unless
    a TLS-terminating proxy at a named address sits in front.

    ``workers`` > 1: that many server processes share the socket; each opens its own
    ``Carecall`` from the same settings (``worker_api``), since nothing about a call is
    kept in process memory between turns."""
    import uvicorn

    from carecall.api.app import create_api

    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("Give both --tls-cert and --tls-key, or neither.")
    if behind_proxy and not trusted_proxies:
        raise ConfigError("--behind-proxy needs --trusted-proxy ADDR (the proxy's address).")
    if workers < 1:
        raise ConfigError("--workers must be at least 1.")
    if tls_cert is None and not _is_loopback(host) and not behind_proxy:
        raise ConfigError(
            f"Refusing to serve on {host} without TLS; bind 127.0.0.1, give --tls-cert and "
            "--tls-key, or --behind-proxy --trusted-proxy ADDR."
        )
    factory = None
    if tls_cert is not None and tls_key is not None:
        tls_context(tls_cert, tls_key)  # fail here, once, on unreadable files
        factory = _Tls13(tls_cert, tls_key)

    return uvicorn.Config(
        create_api(app) if workers == 1 else "carecall.cli.setup:worker_api",
        factory=workers > 1,
        workers=workers,
        # The supervisor SIGKILLs a worker that misses a 5 s ping, dropping its live calls;
        # a worker starved of CPU under overload is slow, not hung.
        timeout_worker_healthcheck=30,
        host=host,
        port=port,
        log_config=None,
        log_level=log_level,
        server_header=False,
        date_header=False,
        proxy_headers=behind_proxy,
        forwarded_allow_ips=list(trusted_proxies) if behind_proxy else None,
        # uvicorn would build its own context; ours allows TLS 1.3 only.
        ssl_context_factory=factory,
    )


class _Tls13:
    """The TLS 1.3-only server context, built where uvicorn asks for it (picklable, so
    ``--workers`` processes each build their own)."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key

    def __call__(self, _config: Any, _default: Any) -> ssl.SSLContext:
        return tls_context(self.cert, self.key)


def worker_api() -> Any:
    """The API for one ``--workers`` process: its own ``Carecall`` (engine, pools, key
    cache) from the same settings as the parent, which already ran ``initialise``."""
    from carecall.api.app import create_api
    from carecall.phi.logging import configure_logging

    configure_logging("INFO")
    return create_api(open_app(load_settings()))


def serve_app(
    app: Carecall,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    behind_proxy: bool = False,
    trusted_proxies: Sequence[str] = (),
    workers: int = 1,
) -> None:
    import uvicorn

    config = serve_config(app, host, port, tls_cert=tls_cert, tls_key=tls_key,
                          behind_proxy=behind_proxy, trusted_proxies=trusted_proxies,
                          workers=workers)
    from carecall.phi.logging import configure_logging

    # carecall's own logging, uvicorn's included, goes through the PHI scrubbers.
    configure_logging("INFO")
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors.multiprocess import Multiprocess

    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        # uvicorn binds with proto 0, which the workers' copies keep; asyncio disables Nagle
        # only on sockets whose proto is IPPROTO_TCP, so a response written in two parts
        # (head, body) would wait ~40 ms for the client's delayed ACK on every request.
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    Multiprocess(config, sockets=[sock]).run()


def _command_name() -> str:
    """How the user invoked carecall (``.venv/bin/carecall`` after ``make demo``)."""
    invoked = Path(sys.argv[0])
    if invoked.name == "carecall" and invoked.parent != Path():
        try:
            return str(invoked.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(invoked)
    return "carecall"


def register(root: typer.Typer) -> None:
    @root.command()
    def init() -> None:
        """Create the data directory, the migrated database, the key-encryption key and the
        audit signing key. Idempotent: existing keys are never overwritten."""
        app = open_app(load_settings())
        try:
            created = initialise(app)
        finally:
            app.close()
        where = Path(app.settings.data_dir).resolve()
        if created:
            typer.echo(f"Initialised carecall in {where}: created {', '.join(created)}.")
        else:
            typer.echo(f"carecall in {where} is already initialised; nothing changed.")

    @root.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to bind (loopback unless TLS)."),
        port: int = typer.Option(8000, help="TCP port."),
        tls_cert: Path | None = typer.Option(None, help="PEM certificate (chain)."),
        tls_key: Path | None = typer.Option(None, help="PEM private key."),
        behind_proxy: bool = typer.Option(
            False, "--behind-proxy", help="Plain HTTP behind a TLS-terminating proxy."
        ),
        trusted_proxy: list[str] = typer.Option(
            [], "--trusted-proxy", help="Address(es) of that proxy (X-Forwarded-* trusted)."
        ),
        workers: int = typer.Option(
            1, "--workers", min=1,
            help="Server processes sharing the port (each with its own database pool; "
            "rate limits count per process).",
        ),
    ) -> None:
        """Start the HTTP API (uvicorn); TLS 1.3 only when given a certificate."""
        app = open_app(load_settings())
        try:
            initialise(app)
            serve_app(app, host, port, tls_cert=tls_cert, tls_key=tls_key,
                      behind_proxy=behind_proxy, trusted_proxies=trusted_proxy,
                      workers=workers)
        finally:
            app.close()

    @root.command()
    def demo(
        host: str = typer.Option("127.0.0.1", help="Address to bind."),
        port: int = typer.Option(8000, help="TCP port."),
        no_serve: bool = typer.Option(False, "--no-serve", help="Set up, then exit."),
    ) -> None:
        """Initialise, add a synthetic demo practice with patients, and serve."""
        from carecall.demo.seed import demo_patients, seed_demo

        app = open_app(load_settings())
        try:
            initialise(app)
            tenant, count = seed_demo(app, CLI_PRINCIPAL)
            cc = _command_name()
            caller = demo_patients(app.clock.now(), count=1)[0]
            typer.echo(
                f"Demo practice '{tenant.display_name}' (tenant {tenant.slug}) is ready with "
                f"{count} synthetic patients.\n"
                "Try next, in another terminal in this directory:\n"
                f"  {cc} tenants show {tenant.slug}\n"
                f"  {cc} patients search {tenant.slug} --phone +16175550142\n"
                f"  {cc} audit head && {cc} audit verify\n"
                f"  {cc} call chat   (phone the AI agent as the synthetic patient "
                f"{caller.first_name} {caller.last_name}, born {caller.dob:%B %-d, %Y})\n"
                f"  curl http://{host}:{port}/readyz   (API docs at /docs)"
            )
            if not no_serve:
                typer.echo(f"Serving on http://{host}:{port} (Ctrl-C to stop).")
                serve_app(app, host, port)
        finally:
            app.close()
