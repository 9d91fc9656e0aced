"""``carecall call``: the call simulator (scripted calls and an interactive terminal call)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer

from carecall.calls import service
from carecall.calls.model import Step
from carecall.calls.simulator import Workspace, caller_input, run_script
from carecall.cli.context import cli_app
from carecall.core.errors import InvalidInput, NotFound
from carecall.demo.seed import DEMO_SLUG
from carecall.tenants.service import load_tenant

app = typer.Typer(help="Simulate calls with the AI agent.", no_args_is_help=True)


@app.command("script")
def script(
    path: Annotated[
        Path | None, typer.Argument(help="JSON Lines file; stdin when omitted.")
    ] = None,
) -> None:
    """Run scripted calls (one JSON object a line), each in a throw-away store; print one
    JSON result line per script, in order."""
    if path is not None and not path.is_file():
        raise InvalidInput(f"No script file at {path}.")
    lines = (path.read_text(encoding="utf-8") if path else sys.stdin.read()).splitlines()
    workspace = Workspace()
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                print(json.dumps({"id": None, "error": f"line {number} is not valid JSON"}))
                continue
            print(json.dumps(run_script(workspace, data)), flush=True)
    finally:
        workspace.close()


def _show(step: Step) -> None:
    if step.say:
        typer.echo(f"agent> {step.say}")
    for event in step.events:
        fields = " ".join(f"{k}={v}" for k, v in event.fields.items())
        typer.secho(f"  [{event.kind}{' ' + fields if fields else ''}]", dim=True)


@app.command("chat")
def chat(
    tenant: Annotated[str, typer.Option(help="Tenant slug or id.")] = DEMO_SLUG,
    caller: Annotated[str, typer.Option("--from", help="The caller's number.")] = "+16175550142",
) -> None:
    """Call the agent from the terminal. Type what you would say; <dtmf:1>, <silence> and
    <voicemail> stand for keys, silence and an answering machine; an empty line hangs up."""
    carecall = cli_app()
    try:
        with carecall.db.transaction() as session:
            found = load_tenant(session, tenant)
        if found is None:
            raise NotFound(f"No tenant '{tenant}'; run 'carecall demo' to create {DEMO_SLUG}.")
        ref = f"chat-{uuid.uuid4().hex[:16]}"
        number = found.phone_numbers[0] if found.phone_numbers else found.contact_phone
        step = service.start_call(carecall, tenant_id=found.id, direction="inbound",
                                  from_number=caller, to_number=number, channel_ref=ref)
        _show(step)
        while not step.ends_call:
            try:
                said = input("you> ")
            except EOFError:
                said = ""
            if not said.strip():
                service.end_call(carecall, channel_ref=ref, status="completed")
                typer.echo("(you hung up)")
                return
            step = service.take_turn(carecall, channel_ref=ref, caller_input=caller_input(said))
            _show(step)
        typer.echo(f"(call ended: {step.outcome})")
    finally:
        carecall.close()
