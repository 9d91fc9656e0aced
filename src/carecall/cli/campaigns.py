"""``carecall campaigns``: create, plan, run, pause, resume, cancel and report outbound
campaigns, and run the worker that places their calls and texts."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carecall.campaigns import service
from carecall.campaigns.model import (
    CampaignSpec,
    Channel,
    Outcome,
    RetryRule,
    TargetKind,
    TargetRule,
    Window,
)
from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import InvalidInput, NotFound
from carecall.tenants.model import Purpose

app = typer.Typer(help="Outbound campaigns (reminders and notifications).",
                  no_args_is_help=True)
out = Console()


def _when(text: str, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time, e.g. 2026-12-01T13:00:00Z.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _patients(text: str) -> tuple[uuid.UUID, ...]:
    ids = []
    for part in text.replace("\n", ",").split(","):
        if part.strip():
            try:
                ids.append(uuid.UUID(part.strip()))
            except ValueError:
                raise InvalidInput("--patients takes patient ids separated by commas.") from None
    return tuple(ids)


def _hours(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split("-", 1))
    except ValueError:
        raise InvalidInput("--appointments-ahead takes hours as FROM-TO, e.g. 24-48.") from None
    return low, high


def _id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("No campaign with that id.") from None


@app.command("create")
def create(
    tenant: str = typer.Argument(..., help="Slug or id."),
    purpose: Purpose = typer.Option(Purpose.APPOINTMENT_REMINDER, help="Why you contact them."),
    channel: Channel = typer.Option(Channel.VOICE, help="voice, sms or voice_with_sms_fallback."),
    template: str = typer.Option("", help="The message or call script; placeholders: "
                                 "{practice} {practice_phone} {day} {date} {time}."),
    template_file: Path | None = typer.Option(None, help="Read the template from a file."),
    patients: str = typer.Option("", help="Patient ids, comma-separated."),
    appointments_ahead: str = typer.Option("", help="Booked appointments FROM-TO hours ahead "
                                           "(e.g. 24-48)."),
    window_start: str = typer.Option("", help="Send no earlier than this (ISO 8601)."),
    window_end: str = typer.Option("", help="Send nothing after this (ISO 8601)."),
    attempts: int = typer.Option(2, help="Attempts per target (no answer, busy, failed)."),
    retry_minutes: int = typer.Option(60, help="Least wait before another attempt."),
    label: str = typer.Option("", help="A name for the campaign (no patient data)."),
) -> None:
    """Create a draft campaign; prints its id."""
    if template_file is not None:
        try:
            template = template_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise InvalidInput(f"Cannot read {template_file}; check the path.") from None
    if bool(patients) == bool(appointments_ahead):
        raise InvalidInput("Give either --patients or --appointments-ahead.")
    if patients:
        rule = TargetRule(TargetKind.PATIENTS, _patients(patients))
    else:
        low, high = _hours(appointments_ahead)
        rule = TargetRule(TargetKind.APPOINTMENTS_AHEAD, hours_from=low, hours_to=high)
    spec = CampaignSpec(
        purpose=purpose, channel=channel, template=template, targets=rule,
        window=Window(_when(window_start, "--window-start"), _when(window_end, "--window-end")),
        retry=RetryRule(max_attempts=attempts, delay_minutes=retry_minutes,
                        on=frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED})),
        label=label)
    cc = cli_app()
    try:
        campaign = service.create_campaign(cc, CLI_PRINCIPAL, tenant, spec)
        typer.echo(str(campaign.id))
    finally:
        cc.close()


@app.command("list")
def list_(tenant: str = typer.Argument(..., help="Slug or id.")) -> None:
    """The practice's campaigns."""
    cc = cli_app()
    try:
        found = service.list_campaigns(cc, CLI_PRINCIPAL, tenant)
    finally:
        cc.close()
    table = Table("label", "purpose", "channel", "state", "created")
    table.add_column("id", no_wrap=True)
    for c in found:
        table.add_row(c.spec.label, str(c.spec.purpose), str(c.spec.channel), str(c.state),
                      c.created_at.strftime("%Y-%m-%d %H:%M"), str(c.id))
    out.print(table)


@app.command("plan")
def plan(tenant: str = typer.Argument(..., help="Slug or id."),
         campaign: str = typer.Argument(..., help="Campaign id.")) -> None:
    """Decide every target with the outbound policy; shows a summary by reason."""
    cc = cli_app()
    try:
        with Progress(TextColumn("planning"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=Console(stderr=True)) as bar:
            task = bar.add_task("plan", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = service.plan_campaign(cc, CLI_PRINCIPAL, tenant, _id(campaign), progress)
    finally:
        cc.close()
    later = f" ({summary.deferred} later today or on a later day)" if summary.deferred else ""
    typer.echo(f"{summary.targets} targets: {summary.allowed} allowed{later}, "
               f"{summary.denied} denied ({summary.seconds:.1f} s).")
    if summary.by_reason:
        table = Table("reason", "targets")
        for reason, count in summary.by_reason.items():
            table.add_row(reason, str(count))
        out.print(table)


@app.command("run")
def run(tenant: str = typer.Argument(..., help="Slug or id."),
        campaign: str = typer.Argument(..., help="Campaign id."),
        wait: bool = typer.Option(False, "--wait", help="Place the contacts from this process "
                                  "and return when nothing is left to do now.")) -> None:
    """Start sending: queue an attempt for every allowed target. A worker places them
    ('carecall campaigns worker'), or this command with --wait."""
    cc = cli_app()
    try:
        queued = service.run_campaign(cc, CLI_PRINCIPAL, tenant, _id(campaign))
        typer.echo(f"Queued {queued} attempt(s).")
        if wait:
            from carecall.campaigns import jobs

            jobs.work(cc, until_idle=True, campaign=_id(campaign))
            _print_report(service.report(cc, CLI_PRINCIPAL, tenant, _id(campaign)))
    finally:
        cc.close()


@app.command("worker")
def worker(until_idle: bool = typer.Option(False, "--until-idle",
                                           help="Stop when nothing is in flight or due.")) -> None:
    """Place campaign contacts until stopped (Ctrl-C, SIGTERM). Interrupted attempts of
    this worker are resumed when it starts again."""
    from carecall.campaigns import jobs

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cc = cli_app()
    try:
        typer.echo("Campaign worker running; Ctrl-C to stop.", err=True)
        jobs.work(cc, stop=stop, until_idle=until_idle)
    except KeyboardInterrupt:
        stop.set()
    finally:
        cc.close()


def _simple(action: str) -> Any:
    def command(tenant: str = typer.Argument(..., help="Slug or id."),
                campaign: str = typer.Argument(..., help="Campaign id.")) -> None:
        cc = cli_app()
        try:
            result = getattr(service, f"{action}_campaign")(cc, CLI_PRINCIPAL, tenant,
                                                            _id(campaign))
        finally:
            cc.close()
        extra = f"; {result} queued attempt(s) dropped" if action == "cancel" else ""
        typer.echo(f"Campaign {action}d{extra}." if action != "cancel"
                   else f"Campaign cancelled{extra}.")
    command.__doc__ = {
        "pause": "Stop sending; queued attempts wait, calls already ringing finish.",
        "resume": "Send again after a pause.",
        "cancel": "Stop for good; queued attempts are dropped.",
    }[action]
    return command


for _action in ("pause", "resume", "cancel"):
    app.command(_action)(_simple(_action))


@app.command("report")
def report_(tenant: str = typer.Argument(..., help="Slug or id."),
            campaign: str = typer.Argument(..., help="Campaign id."),
            as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Progress and outcomes: counts only, no patient data."""
    cc = cli_app()
    try:
        result = service.report(cc, CLI_PRINCIPAL, tenant, _id(campaign))
    finally:
        cc.close()
    if as_json:
        typer.echo(json.dumps(service.report_document(result), indent=2))
    else:
        _print_report(result)


def _print_report(result: Any) -> None:
    doc = service.report_document(result)
    out.print(f"Campaign {doc['campaign']}: {doc['state']} ({doc['purpose']}, "
              f"{doc['channel']}); {doc['targets']} targets, {doc['attempts']} attempts, "
              f"{doc['contacts_placed']} placed, {doc['reconciled_after_crash']} reconciled "
              "after a crash.")
    for title in ("by_target_state", "by_attempt_status", "by_outcome", "plan_reasons",
                  "dial_reasons"):
        if doc[title]:
            table = Table(title.replace("_", " "), "count")
            for key, count in doc[title].items():
                table.add_row(key, str(count))
            out.print(table)
