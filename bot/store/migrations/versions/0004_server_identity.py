"""What tells servers apart on a card: private IP, tags, and how many others of the target share the name.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Nullable columns added in place (plain ALTER TABLE … ADD COLUMN on both databases): rows of requests
made before this revision read as "no IP, no tags, no namesakes known".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("request_servers", sa.Column("private_ip", sa.String(64), nullable=True))
    op.add_column("request_servers", sa.Column("tags", sa.Text(), nullable=True))
    op.add_column("request_servers", sa.Column("namesakes", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("request_servers", "namesakes")
    op.drop_column("request_servers", "tags")
    op.drop_column("request_servers", "private_ip")
