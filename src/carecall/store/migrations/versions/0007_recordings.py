"""Call recordings: encrypted audio blobs and their redacted copies.

Revision ID: 0007_recordings
Revises: 0006_calls
"""

from __future__ import annotations

revision = "0007_recordings"
down_revision = "0006_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
