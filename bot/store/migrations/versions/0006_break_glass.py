"""Break-glass: requests run without approval and their review afterwards; one use per cooldown.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Nullable columns added in place on `requests` (rows made before this revision read as normal requests),
and a new table `break_glass_cooldowns` whose primary key (requester, target) and a compare-and-set on
`used_at` let only one break-glass per requester and target through per cooldown, whatever the replicas.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("requests", sa.Column("break_glass", sa.Boolean(), nullable=True))
    op.add_column("requests", sa.Column("review_state", sa.String(20), nullable=True))
    op.add_column("requests", sa.Column("reviewed_by", sa.String(64), nullable=True))
    op.add_column("requests", sa.Column("review_reason", sa.Text(), nullable=True))
    op.add_column("requests", sa.Column("reviewed_at", UTCDateTime(), nullable=True))
    op.add_column("requests", sa.Column("review_reminded_at", UTCDateTime(), nullable=True))
    op.create_table(
        "break_glass_cooldowns",
        sa.Column("requester_id", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("requester_id", "target", name=op.f("pk_break_glass_cooldowns")),
    )


def downgrade() -> None:
    op.drop_table("break_glass_cooldowns")
    for column in ("review_reminded_at", "reviewed_at", "review_reason", "reviewed_by", "review_state"):
        op.drop_column("requests", column)
    op.drop_column("requests", "break_glass")
