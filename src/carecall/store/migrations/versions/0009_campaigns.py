"""Outbound campaigns, their planned decisions, attempts and contact history.

Revision ID: 0009_campaigns
Revises: 0008_consent
"""

from __future__ import annotations

revision = "0009_campaigns"
down_revision = "0008_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
