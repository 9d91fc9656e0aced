"""``carecall patients``: import, search, export and shred patient records."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path

import typer

from carecall.cli.context import CLI_PRINCIPAL, cli_app
from carecall.core.errors import InvalidInput, NotFound
from carecall.patients.imports import parse_csv, parse_fhir_bundle
from carecall.patients.service import export_patient, find_patients, import_patients, shred_patient
from carecall.tenants.model import Purpose

app = typer.Typer(help="The patient directory.", no_args_is_help=True)


def _patient_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("No patient with that id.") from None


@app.command("import")
def import_(
    tenant: str = typer.Argument(..., help="Slug or id."),
    file: Path = typer.Argument(..., help="A CSV file or a FHIR R4 Bundle (.json)."),
    fmt: str = typer.Option("auto", "--format", help="csv, fhir or auto (by extension)."),
) -> None:
    """Validate the whole file, then import it in one transaction (nothing on any error)."""
    try:
        data = file.read_bytes()
    except OSError:
        raise InvalidInput(f"Cannot read {file}; check the path.") from None
    kind = fmt if fmt != "auto" else ("fhir" if file.suffix.lower() == ".json" else "csv")
    if kind not in ("csv", "fhir"):
        raise InvalidInput("--format must be csv, fhir or auto.")
    cc = cli_app()
    try:
        today = cc.clock.now().date()
        records, problems = (parse_csv if kind == "csv" else parse_fhir_bundle)(data, today)
        if problems:
            for problem in problems:
                typer.echo(f"  {problem}", err=True)
            raise InvalidInput(
                f"{file.name}: {len(problems)} problem(s) found; nothing was "
                "imported. Fix them and run the import again."
            )
        ids = import_patients(cc, CLI_PRINCIPAL, tenant, records, source=kind)
        typer.echo(f"Imported {len(ids)} patients.")
    finally:
        cc.close()


@app.command("search")
def search(
    tenant: str = typer.Argument(..., help="Slug or id."),
    phone: str = typer.Option("", help="Phone number."),
    dob: str = typer.Option("", help="Date of birth, YYYY-MM-DD."),
    purpose: Purpose = typer.Option(Purpose.PATIENT_SUPPORT, help="Why you are looking."),
) -> None:
    """Find patients by phone or date of birth (ids and masked names only)."""
    birth = None
    if dob:
        try:
            birth = date.fromisoformat(dob)
        except ValueError:
            raise InvalidInput("--dob must be YYYY-MM-DD.") from None
    cc = cli_app()
    try:
        found = find_patients(
            cc, CLI_PRINCIPAL, tenant, purpose=purpose, phone=phone or None, dob=birth
        )
        for p in found:
            typer.echo(f"{p.id}  {p.first_name[:1]}*** {p.last_name[:1]}***  born ****-**-**")
        typer.echo(f"{len(found)} match(es).")
    finally:
        cc.close()


@app.command("export")
def export(
    tenant: str = typer.Argument(..., help="Slug or id."),
    patient: str = typer.Argument(..., help="Patient id."),
) -> None:
    """Print one patient's whole record as JSON (audited)."""
    cc = cli_app()
    try:
        typer.echo(
            json.dumps(export_patient(cc, CLI_PRINCIPAL, tenant, _patient_id(patient)), indent=2)
        )
    finally:
        cc.close()


@app.command("shred")
def shred(
    tenant: str = typer.Argument(..., help="Slug or id."),
    patient: str = typer.Argument(..., help="Patient id."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: this cannot be undone."),
) -> None:
    """Crypto-shred one patient: destroy their key so their PHI is unreadable everywhere."""
    if not yes:
        raise InvalidInput("Shredding cannot be undone; add --yes to confirm.")
    cc = cli_app()
    try:
        shred_patient(cc, CLI_PRINCIPAL, tenant, _patient_id(patient))
        typer.echo("Shredded.")
    finally:
        cc.close()
