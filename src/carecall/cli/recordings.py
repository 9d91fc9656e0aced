"""``carecall recordings``: finish recordings a crash or an outage left half-way."""

from __future__ import annotations

import typer

from carecall.cli.context import cli_app

app = typer.Typer(help="Call recordings held at Twilio or in carecall.", no_args_is_help=True)


@app.command()
def sweep() -> None:
    """Download, encrypt and store every recording not yet stored, and delete from Twilio
    every stored one not yet deleted there. Safe to run at any time, and again."""
    from carecall.channels.recordings import sweep as run_sweep

    cc = cli_app()
    try:
        done, pending = run_sweep(cc)
    finally:
        cc.close()
    typer.echo(f"{done} recording(s) finished; {pending} still pending (run again later).")
