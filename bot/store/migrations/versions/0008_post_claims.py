"""A claim before posting a request's message, so two replicas never post the same approval card twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A new table; nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "post_claims",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name="fk_post_claims_request_id_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "what", name="pk_post_claims"),
    )


def downgrade() -> None:
    op.drop_table("post_claims")
