"""``carecall init``, ``serve`` and ``demo``: from nothing to a running practice."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

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


def serve_app(app: Carecall, host: str, port: int) -> None:
    import uvicorn

    from carecall.api.app import create_api

    if not _is_loopback(host):
        raise ConfigError(
            f"Refusing to serve on {host} without TLS; bind 127.0.0.1, or configure TLS."
        )
    from carecall.phi.logging import configure_logging

    # carecall's own logging, uvicorn's included, goes through the PHI scrubbers.
    configure_logging("INFO")
    uvicorn.run(
        create_api(app),
        host=host,
        port=port,
        log_config=None,
        log_level="info",
        server_header=False,
        date_header=False,
    )


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
    ) -> None:
        """Start the HTTP API (uvicorn)."""
        app = open_app(load_settings())
        try:
            initialise(app)
            serve_app(app, host, port)
        finally:
            app.close()

    @root.command()
    def demo(
        host: str = typer.Option("127.0.0.1", help="Address to bind."),
        port: int = typer.Option(8000, help="TCP port."),
        no_serve: bool = typer.Option(False, "--no-serve", help="Set up, then exit."),
    ) -> None:
        """Initialise, add a synthetic demo practice with patients, and serve."""
        from carecall.demo.seed import seed_demo

        app = open_app(load_settings())
        try:
            initialise(app)
            tenant, count = seed_demo(app, CLI_PRINCIPAL)
            cc = _command_name()
            typer.echo(
                f"Demo practice '{tenant.display_name}' (tenant {tenant.slug}) is ready with "
                f"{count} synthetic patients.\n"
                "Try next, in another terminal in this directory:\n"
                f"  {cc} tenants show {tenant.slug}\n"
                f"  {cc} patients search {tenant.slug} --phone +16175550142\n"
                f"  {cc} audit head && {cc} audit verify\n"
                f"  curl http://{host}:{port}/readyz   (API docs at /docs)"
            )
            if not no_serve:
                typer.echo(f"Serving on http://{host}:{port} (Ctrl-C to stop).")
                serve_app(app, host, port)
        finally:
            app.close()
