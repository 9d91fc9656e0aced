"""``carecall tenants``: practices and their business associate agreements."""

from __future__ import annotations

from datetime import date
from typing import cast

import typer
from rich.console import Console
from rich.table import Table

from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import InvalidInput
from carecall.core.ids import new_id
from carecall.tenants.model import Purpose, RecordingMode, Tenant
from carecall.tenants.rules import active_baa
from carecall.tenants.service import add_baa, create_tenant, get_tenant, list_tenants

app = typer.Typer(help="Client practices (tenants) and their BAAs.", no_args_is_help=True)
baa_app = typer.Typer(help="Business associate agreements.", no_args_is_help=True)
app.add_typer(baa_app, name="baa")


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a date in YYYY-MM-DD form.") from None


@app.command("create")
def create(
    slug: str = typer.Argument(..., help="Short unique name, e.g. riverside."),
    name: str = typer.Option(..., "--name", help="The practice's display name."),
    contact_phone: str = typer.Option(..., help="The practice's public number (E.164)."),
    timezone: str = typer.Option("America/New_York", help="IANA time zone."),
    agent_name: str = typer.Option("Ava", help="The AI agent's name."),
    number: list[str] = typer.Option([], "--number", help="Inbound number(s) for this practice."),
    staff_phone: str = typer.Option("", help="Where hand-offs are dialled."),
    recording: str = typer.Option("off", help="Call recording: off or ask."),
) -> None:
    """Create a practice (a covered entity) and its tenant key."""
    cc = cli_app()
    try:
        tenant = create_tenant(
            cc,
            CLI_PRINCIPAL,
            Tenant(
                id=new_id(),
                slug=slug,
                display_name=name,
                contact_phone=contact_phone,
                timezone=timezone,
                agent_name=agent_name,
                phone_numbers=tuple(number),
                staff_phone=staff_phone or None,
                recording_mode=cast(RecordingMode, recording),
            ),
        )
        typer.echo(f"Created tenant {tenant.slug} ({tenant.id}).")
    finally:
        cc.close()


@app.command("list")
def list_() -> None:
    """List practices with their BAA status."""
    cc = cli_app()
    try:
        table = Table("slug", "name", "time zone", "BAA in force")
        for tenant in list_tenants(cc, CLI_PRINCIPAL):
            baa = active_baa(tenant.baas, cc.clock.now().date())
            table.add_row(
                tenant.slug,
                tenant.display_name,
                tenant.timezone,
                f"until {baa.expires_on}" if baa else "NONE",
            )
        Console().print(table)
    finally:
        cc.close()


@app.command("show")
def show(tenant: str = typer.Argument(..., help="Slug or id.")) -> None:
    """Show one practice's settings and BAAs."""
    cc = cli_app()
    try:
        t = get_tenant(cc, CLI_PRINCIPAL, tenant)
        typer.echo(
            f"{t.display_name} ({t.slug}, {t.id})\n  contact {t.contact_phone}, "
            f"agent {t.agent_name}, zone {t.timezone}, recording {t.recording_mode}"
        )
        for b in t.baas:
            purposes = ", ".join(sorted(str(p) for p in b.permitted_purposes))
            typer.echo(
                f"  BAA {b.id}: {b.status}, {b.effective_on} to "
                f"{b.expires_on or 'open'}, signed by {b.signed_by}; {purposes}"
            )
    finally:
        cc.close()


@baa_app.command("add")
def baa_add(
    tenant: str = typer.Argument(..., help="Slug or id."),
    effective: str = typer.Option(..., help="YYYY-MM-DD"),
    expires: str = typer.Option("", help="YYYY-MM-DD (empty: no end date)."),
    signed_by: str = typer.Option(..., help="Who signed for the covered entity."),
    purpose: list[str] = typer.Option(
        [], "--purpose", help="Permitted purpose (repeat); default: all."
    ),
) -> None:
    """Record a BAA; PHI operations are refused unless one is in force."""
    try:
        purposes = frozenset(Purpose(p) for p in purpose) if purpose else frozenset(Purpose)
    except ValueError:
        raise InvalidInput(
            "Unknown purpose; one of: " + ", ".join(p.value for p in Purpose)
        ) from None
    cc = cli_app()
    try:
        t = get_tenant(cc, CLI_PRINCIPAL, tenant)
        baa = add_baa(
            cc,
            CLI_PRINCIPAL,
            t.id,
            effective_on=_date(effective, "--effective"),
            expires_on=_date(expires, "--expires") if expires else None,
            signed_by=signed_by,
            purposes=purposes,
        )
        typer.echo(f"Recorded BAA {baa.id} for {t.slug}.")
    finally:
        cc.close()
