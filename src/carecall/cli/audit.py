"""``carecall audit``: verify the log, publish and show signed heads, prove entries.

Thin edge: each command reads settings, opens the database and the signing key, calls one
audit service function and prints its result. Failures are ``CarecallError``s; the root CLI
turns them into a one-line message and the error's exit code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from carecall.audit import merkle, service
from carecall.audit.checkpoint import open_checkpoint
from carecall.audit.signing import (
    NoteSigner,
    NoteVerifier,
    load_or_create_signing_key,
    load_public_key,
    public_key_path,
)
from carecall.core.clock import SystemClock
from carecall.core.config import Settings, load_settings
from carecall.core.errors import IntegrityFailure, InvalidInput
from carecall.store.db import Database

app = typer.Typer(help="The tamper-evident audit log (RFC 9162 Merkle log, signed heads).",
                  no_args_is_help=True)


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.resolved_database_url)
    try:
        yield db
    finally:
        db.dispose()


def _signer(settings: Settings) -> NoteSigner:
    key, _ = load_or_create_signing_key(settings.audit_key_path)
    return NoteSigner(key, settings.audit_origin)


def _public_key(settings: Settings) -> Ed25519PublicKey | None:
    pub = public_key_path(settings.audit_key_path)
    if pub.exists():
        return load_public_key(pub)
    if settings.audit_key_path.exists():
        return load_or_create_signing_key(settings.audit_key_path)[0].public_key()
    return None


@app.command()
def verify() -> None:
    """Recompute the tree from the stored entries and check every signed head."""
    settings = load_settings()
    with _database(settings) as db:
        report = service.verify_log(db, _public_key(settings))
    typer.echo(report.summary())
    if not report.ok:
        for problem in report.problems:
            typer.echo(f"  - {problem}", err=True)
        raise IntegrityFailure(f"Audit log verification failed: {report.problems[0]}.")


@app.command()
def head() -> None:
    """Sequence pending entries, sign a new head if the tree grew, and print the latest."""
    settings = load_settings()
    signer = _signer(settings)
    with _database(settings) as db:
        service.publish_head_if_grown(db, signer, SystemClock())
        latest = service.latest_head(db)
    if latest is None:  # pragma: no cover - publishing always leaves a head
        raise IntegrityFailure("No signed tree head could be published.")
    typer.echo(latest.checkpoint, nl=False)


def _parse_entry(entry: str) -> int | uuid.UUID:
    if entry.isdigit():
        return int(entry)
    try:
        return uuid.UUID(entry)
    except ValueError:
        raise InvalidInput("ENTRY must be an audit entry id (UUID) or a log index.") from None


@app.command()
def prove(entry: Annotated[str, typer.Argument(help="Entry id (UUID) or log index.")]) -> None:
    """Print an inclusion proof of ENTRY against the latest signed head, verified."""
    settings = load_settings()
    parsed = _parse_entry(entry)
    with _database(settings) as db:
        latest = service.latest_head(db)
        if latest is None:
            raise InvalidInput("There is no signed tree head yet; run `carecall audit head`.")
        proof = service.inclusion_proof(db, parsed, latest.tree_size)
    ok = merkle.verify_inclusion(
        proof.log_index, proof.tree_size, proof.leaf_hash, proof.hashes, latest.root_hash
    )
    document = proof.to_json() | {"head_root": latest.root_hash.hex(), "verified": ok}
    typer.echo(json.dumps(document, indent=2))
    if not ok:
        raise IntegrityFailure("The inclusion proof does not match the latest signed head.")


@app.command()
def consistency(
    old_head_file: Annotated[Path, typer.Argument(help="A checkpoint an auditor kept.")],
) -> None:
    """Verify a kept checkpoint's signature and prove the current log extends it."""
    settings = load_settings()
    try:
        note = old_head_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"Cannot read the checkpoint file {old_head_file}.") from None
    public_key = _public_key(settings)
    if public_key is None:
        raise InvalidInput("No audit public key found; this log has never signed a head.")
    old = open_checkpoint(note, NoteVerifier(public_key, settings.audit_origin))
    if old.origin != settings.audit_origin:
        raise IntegrityFailure("That checkpoint belongs to another log (origin differs).")
    with _database(settings) as db:
        latest = service.latest_head(db)
        if latest is None or latest.tree_size < old.tree_size:
            raise IntegrityFailure(
                "The log is smaller than the kept checkpoint: entries were removed."
            )
        proof = service.consistency_proof(db, old.tree_size, latest.tree_size)
    ok = merkle.verify_consistency(
        old.tree_size, latest.tree_size, old.root_hash, latest.root_hash, proof.hashes
    )
    typer.echo(json.dumps(proof.to_json() | {"verified": ok}, indent=2))
    if not ok:
        raise IntegrityFailure(
            "The current log does not extend the kept checkpoint: it was rewritten."
        )
