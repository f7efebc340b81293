"""No request is `approved` any more: rows an earlier version left so become `executing`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

The last approval claims the request for execution in the same transaction (`Store.approve`:
pending -> executing), so the `approved` state is gone from the code. A row an older version left
`approved` (stopped between the approval and the claim) becomes `executing` with no worker and no
heartbeat: at the next start recovery takes it over like any execution whose worker stopped. No
password was ever generated for it and no cloud call made, so its servers are reported "not attempted"
and the requester is told, instead of resetting passwords long after the approval was given.
The downgrade has nothing to restore: such rows are indistinguishable from interrupted executions.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE requests SET status = 'executing', claimed_by = NULL, heartbeat_at = NULL "
        "WHERE status = 'approved'"
    )


def downgrade() -> None:
    pass
