"""Call sessions, turns (redacted and raw transcripts), call events and
per-record verification failures.

Revision ID: 0006_calls
Revises: 0005_access
"""

from __future__ import annotations

revision = "0006_calls"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
