"""The audit trail: who did what to which request, appended and never changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from bot.domain import AuditRecord
from bot.store import schema
from bot.store.engine import Database
from bot.store.group_commit import GroupCommit

_A = schema.audit_events


class Audit(Database):
    """Audit events outside a transition (a refused click, a reveal) are one row each: under a burst of
    clicks they share transactions (`GroupCommit`) instead of queueing one by one on the writer."""

    _audit_rows: GroupCommit[dict[str, Any]]

    async def add_audit(
        self,
        request_id: int | None,
        actor: str,
        event: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append to the trail. `detail` must be JSON-serialisable and must never contain a secret.
        Rows are written in group commits; raises `StoreUnavailable` when its group's write failed."""
        row = {
            "request_id": request_id,
            "actor": actor,
            "event": event,
            "detail": dict(detail or {}),
            "created_at": self._clock.now(),
        }
        await self._audit_rows.add([row])

    async def _insert_audit(self, rows: list[dict[str, Any]]) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(insert(_A), rows)

    async def audit(self, request_id: int | None = None, limit: int = 200) -> list[AuditRecord]:
        """The latest `limit` events (of one request, or of all), returned oldest first.
        Raises `StoreUnavailable`."""
        query = select(_A).order_by(_A.c.id.desc()).limit(limit)
        if request_id is not None:
            query = query.where(_A.c.request_id == request_id)
        async with self._begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AuditRecord(
                id=row["id"],
                request_id=row["request_id"],
                actor=row["actor"],
                event=row["event"],
                detail=dict(row["detail"] or {}),
                created_at=row["created_at"],
            )
            for row in reversed(rows)
        ]
