"""Consent ledger, opt-outs and the internal do-not-call list.

Revision ID: 0008_consent
Revises: 0007_recordings
"""

from __future__ import annotations

revision = "0008_consent"
down_revision = "0007_recordings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
