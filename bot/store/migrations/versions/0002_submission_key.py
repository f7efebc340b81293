"""The submission a request comes from, unique, so a replayed submission creates no second request.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01

A unique index, not a table constraint: SQLite cannot add a constraint to a table without rebuilding
it, and rebuilding `requests` (drop and rename) would cascade-delete every server, decision and reveal
row under `PRAGMA foreign_keys=ON`. A unique index on a nullable column enforces the same rule on both
databases, and NULLs (requests without a key) never collide.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN on both databases (not batch mode, which would rebuild on SQLite).
    op.add_column("requests", sa.Column("submission_key", sa.String(200), nullable=True))
    op.create_index("uq_requests_submission_key", "requests", ["submission_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_requests_submission_key", table_name="requests")
    op.drop_column("requests", "submission_key")  # native DROP COLUMN: SQLite 3.35 or later
