"""``carecall apikeys``: machine credentials scoped to one practice."""

from __future__ import annotations

import uuid

import typer

from carecall.access import apikeys
from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import NotFound

app = typer.Typer(help="API keys for machines (one tenant, chosen permissions, expiry).",
                  no_args_is_help=True)


@app.command("create")
def create(
    tenant: str = typer.Argument(..., help="Tenant id or slug."),
    name: str = typer.Option(..., help="What the key is for."),
    permission: list[str] = typer.Option(..., "--permission", help="e.g. patients:search"),
    days: int = typer.Option(90, help="Days until it expires (1-365)."),
) -> None:
    """Create a key; the secret is printed once and only its hash is stored."""
    from carecall.tenants.service import get_tenant

    cc = cli_app()
    try:
        tenant_id = get_tenant(cc, CLI_PRINCIPAL, tenant).id
        key, secret = apikeys.create_key(cc, CLI_PRINCIPAL, tenant_id, name,
                                         frozenset(permission), days)
        typer.echo(f"Key {key.id} (prefix {key.prefix}) expires {key.expires_at:%Y-%m-%d}.")
        typer.echo("Secret (shown only now; send as 'Authorization: Bearer <secret>'):")
        typer.echo(f"  {secret}")
    finally:
        cc.close()


@app.command("revoke")
def revoke(
    tenant: str = typer.Argument(..., help="Tenant id or slug."),
    key_id: str = typer.Argument(...),
) -> None:
    """Revoke a key at once."""
    from carecall.tenants.service import get_tenant

    try:
        kid = uuid.UUID(key_id)
    except ValueError:
        raise NotFound("No API key with that id.") from None
    cc = cli_app()
    try:
        apikeys.revoke_key(cc, CLI_PRINCIPAL, get_tenant(cc, CLI_PRINCIPAL, tenant).id, kid)
        typer.echo("Revoked.")
    finally:
        cc.close()
