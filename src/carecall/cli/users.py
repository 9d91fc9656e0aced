"""``carecall users``: bootstrap the first administrator, add, list and disable users."""

from __future__ import annotations

import uuid

import typer
from rich.console import Console
from rich.table import Table

from carecall.access import service
from carecall.access.service import Enrolment
from carecall.app import Carecall
from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import NotFound

app = typer.Typer(help="People who log in: enrolment, roles, disabling.", no_args_is_help=True)


def _user(cc: Carecall, ref: str) -> uuid.UUID:
    """A user by id or by username (what ``users list`` shows in full)."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    for user in service.list_users(cc, CLI_PRINCIPAL, None):
        if user.username == ref:
            return user.id
    raise NotFound("No user with that id or username.")


def _print(enrolment: Enrolment, base_url: str) -> None:
    typer.echo(f"User {enrolment.user.username} ({enrolment.user.id}), role "
               f"{enrolment.user.role}.")
    typer.echo("One-time enrolment link (valid 24 hours; shown only now):")
    typer.echo(f"  {enrolment.link(base_url)}")
    typer.echo("Or POST the token with a new password to /api/v1/auth/enrol:")
    typer.echo(f"  {enrolment.token}")


@app.command("bootstrap")
def bootstrap(
    username: str = typer.Argument(..., help="The first platform admin's login."),
) -> None:
    """Create the first platform administrator (only when there are no users yet)."""
    cc = cli_app()
    try:
        _print(service.bootstrap_admin(cc, CLI_PRINCIPAL, username), cc.settings.public_base_url)
    finally:
        cc.close()


@app.command("add")
def add(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="platform_admin, tenant_admin, privacy_officer, "
                             "supervisor, agent or auditor."),
    tenant: str = typer.Option("", help="Tenant id or slug (every role but platform_admin)."),
) -> None:
    """Add a user; they enrol with the printed one-time link."""
    cc = cli_app()
    try:
        tenant_id = None
        if tenant:
            from carecall.tenants.service import get_tenant

            tenant_id = get_tenant(cc, CLI_PRINCIPAL, tenant).id
        _print(service.add_user(cc, CLI_PRINCIPAL, username=username, role=role,
                                tenant_id=tenant_id), cc.settings.public_base_url)
    finally:
        cc.close()


@app.command("list")
def list_(tenant: str = typer.Option("", help="Only this tenant (id or slug).")) -> None:
    """Users, their roles and state."""
    cc = cli_app()
    try:
        tenant_id = None
        if tenant:
            from carecall.tenants.service import get_tenant

            tenant_id = get_tenant(cc, CLI_PRINCIPAL, tenant).id
        table = Table("id", "username", "role", "tenant", "enrolled", "disabled")
        for column in table.columns[:4]:
            column.overflow = "fold"  # ids are copied from here: never truncate them
        for u in service.list_users(cc, CLI_PRINCIPAL, tenant_id):
            table.add_row(str(u.id), u.username, u.role, str(u.tenant_id or "-"),
                          "yes" if u.enrolled else "no", "yes" if u.disabled_at else "no")
        Console().print(table)
    finally:
        cc.close()


@app.command("disable")
def disable(user: str = typer.Argument(..., help="User id or username.")) -> None:
    """Disable a user and end all their sessions now."""
    cc = cli_app()
    try:
        service.disable_user(cc, CLI_PRINCIPAL, _user(cc, user))
        typer.echo("Disabled; every session of that user has ended.")
    finally:
        cc.close()


@app.command("training")
def training(
    user: str = typer.Argument(..., help="User id or username."),
    completed_on: str = typer.Option(..., help="YYYY-MM-DD"),
) -> None:
    """Record that a user completed HIPAA training (needed for any PHI access)."""
    from datetime import date

    from carecall.core.errors import InvalidInput

    try:
        day = date.fromisoformat(completed_on)
    except ValueError:
        raise InvalidInput("--completed-on must be YYYY-MM-DD.") from None
    cc = cli_app()
    try:
        service.record_training(cc, CLI_PRINCIPAL, _user(cc, user), day)
        typer.echo("Training recorded.")
    finally:
        cc.close()
