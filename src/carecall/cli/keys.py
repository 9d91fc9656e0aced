"""``carecall keys``: rotate the key-encryption key, or re-encrypt a tenant's data."""

from __future__ import annotations

import typer
from rich.progress import Progress, TaskID

from carecall.audit.model import AuditEvent
from carecall.audit.store import append
from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import InvalidInput
from carecall.patients.service import rotate_tenant_data
from carecall.tenants.store import TenantStore

app = typer.Typer(help="Key management: rotation and re-encryption.", no_args_is_help=True)


@app.command()
def rotate(
    data: bool = typer.Option(
        False,
        "--data",
        help="Re-encrypt a tenant's data under fresh "
        "keys (resumable; data stays readable throughout).",
    ),
    tenant: str = typer.Option("", help="Tenant slug or id (with --data; default: all)."),
    batch_size: int = typer.Option(200, min=1, max=10_000, help="Patients per transaction."),
) -> None:
    """Rotate keys. Without --data: add a KEK version and rewrap every tenant key
    (no data is touched). With --data: new tenant key and data keys, data re-encrypted."""
    cc = cli_app()
    try:
        if not data:
            if tenant:
                raise InvalidInput("--tenant goes with --data; KEK rotation covers every tenant.")
            version = cc.key_provider.rotate()
            with cc.db.transaction() as session:
                count = cc.keyring.rewrap_all(session)
                append(
                    session,
                    AuditEvent(
                        actor=CLI_PRINCIPAL.actor,
                        action="keys.rotate_kek",
                        resource_type="kek",
                        resource_id=version,
                        details={"tenant_keys_rewrapped": count},
                    ),
                    cc.clock,
                )
            typer.echo(f"KEK version {version} is current; {count} tenant keys rewrapped.")
            return
        with cc.db.transaction() as session:
            targets = [tenant] if tenant else [str(t) for t in TenantStore(session).all_ids()]
        for ref in targets:
            with Progress(transient=False) as bar:
                task = bar.add_task(f"re-encrypting {ref}", total=None)

                def report(
                    done: int, total: int, task_id: TaskID = task, b: Progress = bar
                ) -> None:
                    b.update(task_id, completed=done, total=total)

                count = rotate_tenant_data(cc, CLI_PRINCIPAL, ref, batch_size, report)
            typer.echo(f"Tenant {ref}: {count} patients re-encrypted under fresh keys.")
    finally:
        cc.close()
