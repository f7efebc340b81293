"""Notices the chat refused are kept in the database, so a restart or another replica sends them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

A new table; nothing else changes. Before it, refused notices waited in the memory of the process that
sent them and were lost with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "notices_owed",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(100), nullable=False),
        sa.Column("route", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name="fk_notices_owed_request_id_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "unit", name="pk_notices_owed"),
    )
    op.create_index("ix_notices_owed_next_at", "notices_owed", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_owed_next_at", table_name="notices_owed")
    op.drop_table("notices_owed")
