"""The one-time reveal burns only after the chat showed it: a lease held by the click showing it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Two nullable columns, added with plain ALTER TABLE … ADD COLUMN (no rebuild: see 0002 for why).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("reveals", sa.Column("lease", sa.String(64), nullable=True))
    op.add_column("reveals", sa.Column("leased_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("reveals", "leased_until")
    op.drop_column("reveals", "lease")
