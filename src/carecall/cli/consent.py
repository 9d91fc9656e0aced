"""``carecall consent`` and ``carecall dnc``: the consent ledger and the do-not-call list.

Numbers are shown masked (last four digits) in lists; files and arguments are the only
places a full number appears.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import typer

from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.consent import service
from carecall.consent.imports import parse_consents
from carecall.consent.model import (
    ConsentForm,
    ConsentInput,
    ConsentKind,
    ConsentSource,
    Evidence,
    EvidenceKind,
    OptOutSource,
    ReviewStatus,
)
from carecall.core.errors import InvalidInput, NotFound
from carecall.policy.model import Channel

app = typer.Typer(help="Consents, opt-outs and their review.", no_args_is_help=True)
dnc_app = typer.Typer(help="The practice's internal do-not-call list.", no_args_is_help=True)


def masked(phone: str) -> str:
    return "*" * max(0, len(phone) - 4) + phone[-4:]


def _id(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"No {what} with that id.") from None


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError:
        raise InvalidInput(f"Cannot read {file}; check the path.") from None


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("--given-at must be ISO 8601, e.g. 2026-11-01T09:30:00-05:00.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@app.command("add")
def add(
    tenant: str = typer.Argument(..., help="Slug or id."),
    patient: str = typer.Argument(..., help="Patient id."),
    phone: str = typer.Option(..., help="The number the consent is for."),
    kind: ConsentKind = typer.Option(..., help="automated_calls, text_messages or recording."),
    form: ConsentForm = typer.Option(ConsentForm.WRITTEN, help="written or verbal."),
    given_at: str = typer.Option("", help="When it was given (ISO 8601); default now."),
    evidence_kind: EvidenceKind | None = typer.Option(None, help="What proves it."),
    evidence_ref: str = typer.Option("", help="E-signature or recording reference."),
    evidence_file: Path | None = typer.Option(None, help="The signed form (stored encrypted)."),
) -> None:
    """Record a consent with its evidence."""
    document = _read(evidence_file) if evidence_file else None
    evidence = Evidence(evidence_kind, reference=evidence_ref or None, document=document) \
        if evidence_kind else None
    cc = cli_app()
    try:
        consent_id = service.add_consent(cc, CLI_PRINCIPAL, tenant, ConsentInput(
            patient_id=_id(patient, "patient"), phone=phone, kind=kind, form=form,
            given_at=_when(given_at) if given_at else cc.clock.now(),
            source=ConsentSource.CLI, evidence=evidence))
        typer.echo(f"Recorded consent {consent_id}.")
    finally:
        cc.close()


@app.command("revoke")
def revoke(
    tenant: str = typer.Argument(..., help="Slug or id."),
    consent: str = typer.Argument(..., help="Consent id."),
) -> None:
    """Revoke a consent now."""
    cc = cli_app()
    try:
        service.revoke_consent(cc, CLI_PRINCIPAL, tenant, _id(consent, "consent"),
                               ConsentSource.CLI)
        typer.echo("Revoked.")
    finally:
        cc.close()


@app.command("list")
def list_(
    tenant: str = typer.Argument(..., help="Slug or id."),
    patient: str = typer.Argument(..., help="Patient id."),
) -> None:
    """A patient's consents (numbers masked)."""
    cc = cli_app()
    try:
        found = service.list_consents(cc, CLI_PRINCIPAL, tenant, _id(patient, "patient"))
        for c in found:
            state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
            typer.echo(f"{c.id}  {c.kind:<15} {c.form:<7} {masked(c.phone)}  "
                       f"given {c.given_at:%Y-%m-%d}  {state}  "
                       f"evidence={c.evidence_kind or 'none'}")
        typer.echo(f"{len(found)} consent(s).")
    finally:
        cc.close()


@app.command("import")
def import_(
    tenant: str = typer.Argument(..., help="Slug or id."),
    file: Path = typer.Argument(..., help="CSV: patient_id and/or phone, kind, form, "
                                "given_at, evidence_kind, evidence_ref."),
) -> None:
    """Import consents from CSV: every row valid, or nothing is imported."""
    rows, problems = parse_consents(_read(file))
    if problems:
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        raise InvalidInput(f"{file.name}: {len(problems)} problem(s) found; nothing was "
                           "imported. Fix them and run the import again.")
    cc = cli_app()
    try:
        ids = service.import_consents(cc, CLI_PRINCIPAL, tenant, rows)
        typer.echo(f"Imported {len(ids)} consents.")
    finally:
        cc.close()


@app.command("opt-out")
def opt_out(
    tenant: str = typer.Argument(..., help="Slug or id."),
    phone: str = typer.Option("", help="The number that asked to stop."),
    patient: str = typer.Option("", help="The patient who asked (every number of theirs)."),
    channel: Channel = typer.Option(Channel.VOICE, help="How the request arrived."),
) -> None:
    """Record an opt-out (effective at once, for everything not yet sent)."""
    cc = cli_app()
    try:
        result = service.record_opt_out(
            cc, CLI_PRINCIPAL, tenant, phone=phone or None,
            patient_id=_id(patient, "patient") if patient else None, channel=channel,
            source=OptOutSource.CLI)
        typer.echo("Opted out." if result.recorded else "Already opted out; nothing changed.")
    finally:
        cc.close()


@app.command("reviews")
def reviews(
    tenant: str = typer.Argument(..., help="Slug or id."),
    status: ReviewStatus = typer.Option(ReviewStatus.PENDING, help="Which reviews."),
    show_text: bool = typer.Option(False, "--show-text", help="Show the message (audited)."),
) -> None:
    """Unclear messages treated as opt-outs, waiting for a human."""
    cc = cli_app()
    try:
        found = service.list_reviews(cc, CLI_PRINCIPAL, tenant, status=status,
                                     with_text=show_text)
        for r in found:
            typer.echo(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.reason}"
                       + (f"  {r.text!r}" if show_text else ""))
        typer.echo(f"{len(found)} review(s).")
    finally:
        cc.close()


@app.command("resolve")
def resolve(
    tenant: str = typer.Argument(..., help="Slug or id."),
    review: str = typer.Argument(..., help="Review id."),
    revocation: bool = typer.Option(..., "--revocation/--not-revocation",
                                    help="Was the message a revocation?"),
) -> None:
    """Confirm an unclear revocation, or dismiss it (which lifts the opt-out)."""
    cc = cli_app()
    try:
        service.resolve_review(cc, CLI_PRINCIPAL, tenant, _id(review, "review"),
                               revocation=revocation)
        typer.echo("Confirmed: the opt-out stays." if revocation else
                   "Dismissed: the opt-out was lifted.")
    finally:
        cc.close()


@dnc_app.command("add")
def dnc_add(
    tenant: str = typer.Argument(..., help="Slug or id."),
    phone: str = typer.Argument(..., help="The number."),
) -> None:
    """Put a number on the do-not-call list (honoured at once)."""
    cc = cli_app()
    try:
        added = service.dnc_add(cc, CLI_PRINCIPAL, tenant, phone, source="cli")
        typer.echo("Added." if added else "Already on the list; nothing changed.")
    finally:
        cc.close()


@dnc_app.command("remove")
def dnc_remove(
    tenant: str = typer.Argument(..., help="Slug or id."),
    phone: str = typer.Argument(..., help="The number."),
) -> None:
    """Take a number off the list (the record is kept five years, 64.1200(d)(6))."""
    cc = cli_app()
    try:
        service.dnc_remove(cc, CLI_PRINCIPAL, tenant, phone)
        typer.echo("Removed.")
    finally:
        cc.close()


@dnc_app.command("list")
def dnc_list(tenant: str = typer.Argument(..., help="Slug or id.")) -> None:
    """The numbers on the list (masked)."""
    cc = cli_app()
    try:
        found = service.dnc_list(cc, CLI_PRINCIPAL, tenant)
        for entry in found:
            typer.echo(f"{masked(entry.phone)}  added {entry.added_at:%Y-%m-%d}  "
                       f"{entry.source}")
        typer.echo(f"{len(found)} number(s).")
    finally:
        cc.close()


@dnc_app.command("import")
def dnc_import(
    tenant: str = typer.Argument(..., help="Slug or id."),
    file: Path = typer.Argument(..., help="One number a line, or CSV with a phone column."),
) -> None:
    """Import numbers: every line valid, or nothing is imported (bad lines are listed)."""
    data = _read(file)
    cc = cli_app()
    try:
        try:
            result = service.dnc_import(cc, CLI_PRINCIPAL, tenant, data, source="import")
        except service.DncImportError as exc:
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise InvalidInput(f"{file.name}: {len(exc.problems)} bad line(s); nothing was "
                               "imported. Fix them and run the import again.") from None
        typer.echo(f"Added {result.added} number(s); {result.already_listed} already listed.")
    finally:
        cc.close()
