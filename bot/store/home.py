"""What one person's overview reads (a chat's Home tab): requests waiting on their decision, and which of
their requests still have a one-time reveal to offer. Each is one query on existing indexes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import exists, select

from bot.domain import RequestRecord, RequestStatus
from bot.store import schema
from bot.store.engine import Database

_R = schema.requests
_D = schema.decisions
_V = schema.reveals


class Overviews(Database):
    """Reads for one person's overview; they change nothing."""

    async def awaiting_decision(
        self, user_id: str, targets: Collection[str], *, limit: int
    ) -> list[RequestRecord]:
        """Pending requests of `targets` that `user_id` did not make and has not decided on, oldest
        first (they expire first), at most `limit`. Uses the status index and the decisions'
        (request_id, user_id) unique index. Raises StoreUnavailable."""
        if not targets:
            return []
        decided = exists().where(_D.c.request_id == _R.c.id, _D.c.user_id == user_id)
        query = (
            select(_R)
            .where(
                _R.c.status == RequestStatus.PENDING.value,
                _R.c.target.in_(list(targets)),
                _R.c.requester_id != user_id,
                ~decided,
            )
            .order_by(_R.c.id)
            .limit(limit)
        )
        return await self._requests(query)

    async def revealable(
        self, user_id: str, request_ids: Collection[int], now: datetime
    ) -> dict[int, datetime]:
        """Request id -> until when its one-time reveal is available to `user_id` (armed, not revealed,
        not erased, not expired), for those of `request_ids` that have one. Raises StoreUnavailable."""
        if not request_ids:
            return {}
        query = select(_V.c.request_id, _V.c.expires_at).where(
            _V.c.request_id.in_(list(request_ids)),
            _V.c.user_id == user_id,
            _V.c.ciphertext.is_not(None),
            _V.c.revealed_at.is_(None),
            _V.c.expires_at.is_not(None),
            _V.c.expires_at > now,
        )
        async with self._begin() as conn:
            rows = (await conn.execute(query)).all()
        return {int(request_id): expires_at for request_id, expires_at in rows}

    async def reveal_token_of(self, request_id: int) -> str | None:
        """The token of a request's one-time reveal (the store checks its owner when it is used), or
        None when the request never had one. Raises StoreUnavailable."""
        async with self._begin() as conn:
            found = (
                await conn.execute(select(_V.c.token).where(_V.c.request_id == request_id))
            ).scalar_one_or_none()
        return None if found is None else str(found)
