"""The signing key file and C2SP checkpoints."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from carecall.audit.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, sign_checkpoint
from carecall.audit.signing import (
    NoteSigner,
    NoteVerifier,
    load_or_create_signing_key,
    load_public_key,
    public_key_path,
    vkey,
)
from carecall.core.errors import IntegrityFailure, InvalidInput, KeyUnavailable

ROOT = bytes(range(32))


def _swap_char(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1 :]


def test_key_is_created_once_with_mode_0600_and_a_public_copy(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit-signing.key"
    key, created = load_or_create_signing_key(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    again, created_again = load_or_create_signing_key(path)
    assert not created_again
    assert path.read_bytes() == before
    assert again.public_key() == key.public_key()
    assert load_public_key(public_key_path(path)) == key.public_key()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_unreadable_key_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text("not a key")
    with pytest.raises(KeyUnavailable, match="cannot be read"):
        load_or_create_signing_key(path)
    assert path.read_text() == "not a key"


def _signer(tmp_path: Path, name: str = "example.org/log") -> NoteSigner:
    key, _ = load_or_create_signing_key(tmp_path / f"{name.replace('/', '_')}.key")
    return NoteSigner(key, name)


def test_checkpoint_format_and_round_trip(tmp_path: Path) -> None:
    signer = _signer(tmp_path)
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT), signer)
    lines = note.split("\n")
    assert lines[:4] == ["example.org/log", "42", base64.b64encode(ROOT).decode(), ""]
    assert lines[4].startswith("\u2014 example.org/log ")
    blob = base64.b64decode(lines[4].split(" ")[2])
    assert len(blob) == 68
    assert vkey("example.org/log", signer.private_key.public_key()).startswith(
        f"example.org/log+{blob[:4].hex()}+"
    )
    assert open_checkpoint(note, signer.verifier()) == Checkpoint("example.org/log", 42, ROOT)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.replace("\n42\n", "\n43\n"),
        lambda n: n.replace("example.org/log\n", "example.org/other\n", 1),
        lambda n: _swap_char(n, n.rindex(" ") + 10),
    ],
)
def test_tampered_checkpoints_are_rejected(tmp_path: Path, mutate: object) -> None:
    signer = _signer(tmp_path)
    note = sign_checkpoint(Checkpoint("example.org/log", 42, ROOT), signer)
    tampered = mutate(note)  # type: ignore[operator]
    assert tampered != note
    with pytest.raises((IntegrityFailure, InvalidInput)):
        open_checkpoint(tampered, signer.verifier())


def test_another_key_is_rejected(tmp_path: Path) -> None:
    note = sign_checkpoint(Checkpoint("example.org/log", 1, ROOT), _signer(tmp_path))
    (tmp_path / "other").mkdir()
    other = _signer(tmp_path / "other")
    with pytest.raises(IntegrityFailure, match="not signed"):
        open_checkpoint(note, NoteVerifier(other.private_key.public_key(), "example.org/log"))


@pytest.mark.parametrize(
    "text",
    ["", "origin\n1\n", "origin\n01\nAAAA\n\n\u2014 a b\n", "origin\n1\n!!!\n\n\u2014 a b\n",
     "origin\n1\nAAAA\n\n\u2014 a b\n"],
)
def test_malformed_checkpoints_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_checkpoint(text)
