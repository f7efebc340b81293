"""Break-glass confirmations wait in the database, so one covers as many servers as the target allows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A new table; nothing else changes. Before it, the confirmation modal carried the checked submission in
Slack's `private_metadata` (3,000 characters: some 50-70 servers); now it carries a random key and the
submission waits here until its requester confirms it (once) or it expires.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "break_glass_holds",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("password_mode", sa.String(20), nullable=False),
        sa.Column("reboot", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("server_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_hash", name="pk_break_glass_holds"),
    )
    op.create_index("ix_break_glass_holds_expires_at", "break_glass_holds", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_break_glass_holds_expires_at", table_name="break_glass_holds")
    op.drop_table("break_glass_holds")
