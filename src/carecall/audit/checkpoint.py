"""Tree heads as C2SP tlog-checkpoint signed notes.

A checkpoint body is three lines: the log's origin, the tree size in decimal, and the root
hash in standard base64; then a blank line and one or more signature lines. Auditors keep
these texts, and any later state of the log must prove it extends them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from carecall.audit.signing import NoteSigner, NoteVerifier
from carecall.core.errors import IntegrityFailure, InvalidInput

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    body = checkpoint.body()
    return body + "\n" + signer.signature_line(body)


def parse_checkpoint(note: str) -> tuple[Checkpoint, str, list[str]]:
    """Split a signed note into its checkpoint, its signed text and its signature lines."""
    text, sep, signatures = note.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise InvalidInput("That file is not a signed checkpoint (no signature block).")
    text += "\n"
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or not lines[0] or not _SIZE.fullmatch(lines[1]):
        raise InvalidInput("That file is not a checkpoint (origin, size and root lines).")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("The checkpoint's root hash line is not base64.") from None
    if len(root) != 32:
        raise InvalidInput("The checkpoint's root hash is not a SHA-256 hash.")
    return Checkpoint(lines[0], int(lines[1]), root), text, signatures.split("\n")[:-1]


def open_checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    """Parse a checkpoint and require a valid signature by ``verifier``'s key."""
    checkpoint, text, signatures = parse_checkpoint(note)
    if not any(verifier.accepts(text, line) for line in signatures):
        raise IntegrityFailure(
            "The checkpoint is not signed by this log's audit key; it was altered or is "
            "from another log."
        )
    return checkpoint
