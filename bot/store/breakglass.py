"""Break-glass in the store: the cooldown claimed with the request, the run without approval, the review.

Every change is one compare-and-set: two break-glass submissions of one person at once (two replicas)
let one through; two approvers clicking Acknowledge and Flag at once leave one consistent review.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import NewRequest, NewServer, RequestRecord, RequestStatus, ReviewState
from bot.store import schema
from bot.store.records import AuditEntry
from bot.store.requests import Requests
from bot.store.rows import request_record
from bot.store.statements import insert_audit, insert_audits

_R = schema.requests
_C = schema.break_glass_cooldowns


@dataclass(frozen=True)
class BreakGlassCreated:
    """What `create_break_glass_request` did: the request (new, or the one this submission already
    made), or, inside the cooldown, none and when this person last broke glass on the target."""

    request: RequestRecord | None
    created: bool
    last_used_at: datetime | None = None


class _InCooldown(Exception):
    """Rolls the transaction back (the request insert included) when the cooldown was not free."""

    def __init__(self, last_used_at: datetime | None) -> None:
        super().__init__("in cooldown")
        self.last_used_at = last_used_at


class BreakGlassStore(Requests):
    """The cooldown, the start without approval, the review and its reminders."""

    async def last_break_glass(self, requester_id: str, target: str) -> datetime | None:
        """When this person last broke glass on `target` (None: never, or released). A pre-check for the
        form; `create_break_glass_request` decides. Raises StoreUnavailable."""
        query = select(_C.c.used_at).where(_C.c.requester_id == requester_id, _C.c.target == target)
        async with self._begin() as conn:
            value: datetime | None = (await conn.execute(query)).scalar()
        return value

    async def create_break_glass_request(
        self, new: NewRequest, servers: Sequence[NewServer], *, cooldown: timedelta
    ) -> BreakGlassCreated:
        """Creates a break-glass request and claims its requester's cooldown on its target, in one
        transaction: both or neither. A replay of the same submission (its key) returns the request it
        made and claims nothing. Inside the cooldown nothing is written and `last_used_at` says since when.

        The claim is an UPDATE … WHERE used_at <= now - cooldown, else an INSERT … ON CONFLICT DO
        NOTHING on the (requester, target) key: of two at once (any replicas), the second waits for the
        first's commit and then finds the row fresh, so exactly one passes. Raises `StoreUnavailable`."""
        now = self._clock.now()
        try:
            async with self._begin(write=True) as conn:
                created = await self._create_in(conn, new, servers)
                if not created.created:
                    return BreakGlassCreated(created.request, created=False)
                request_id = created.request.id
                claimed = await self._claim_cooldown(
                    conn, new.requester_id, new.target, request_id, now, cooldown
                )
                if not claimed:
                    last = (
                        await conn.execute(
                            select(_C.c.used_at).where(
                                _C.c.requester_id == new.requester_id, _C.c.target == new.target
                            )
                        )
                    ).scalar()
                    raise _InCooldown(last)
                await insert_audit(
                    conn,
                    request_id,
                    (
                        new.requester_id,
                        "break_glass",
                        {"target": new.target, "reason": new.reason, "servers": len(servers)},
                    ),
                    now,
                )
        except _InCooldown as refused:
            return BreakGlassCreated(None, created=False, last_used_at=refused.last_used_at)
        return BreakGlassCreated(created.request, created=True)

    async def _claim_cooldown(
        self,
        conn: AsyncConnection,
        requester_id: str,
        target: str,
        request_id: int,
        now: datetime,
        cooldown: timedelta,
    ) -> bool:
        key = and_(_C.c.requester_id == requester_id, _C.c.target == target)
        renewed = await conn.execute(
            update(_C)
            .where(key, _C.c.used_at <= now - cooldown)
            .values(used_at=now, request_id=request_id)
            .returning(_C.c.request_id)
        )
        if renewed.first() is not None:
            return True
        dialect_insert = sqlite_insert if self._is_sqlite else pg_insert
        inserted = await conn.execute(
            dialect_insert(_C)
            .values(requester_id=requester_id, target=target, used_at=now, request_id=request_id)
            .on_conflict_do_nothing(index_elements=[_C.c.requester_id, _C.c.target])
            .returning(_C.c.request_id)
        )
        return inserted.first() is not None

    async def release_break_glass(self, request_id: int, why: str) -> bool:
        """Frees the cooldown a break-glass request claimed when it reset nothing (its pre-flight failed,
        or every call was refused): an attempt that changed nothing must not bar the next one. Audit
        `break_glass_released` with `why`, in the same transaction. False when another request holds it
        (nothing written). Raises `StoreUnavailable`."""
        async with self._begin(write=True) as conn:
            gone = await conn.execute(delete(_C).where(_C.c.request_id == request_id).returning(_C.c.target))
            if gone.first() is None:
                return False
            entry: AuditEntry = ("bot", "break_glass_released", {"why": why})
            await insert_audit(conn, request_id, entry, self._clock.now())
            return True

    async def start_break_glass(self, request_id: int, claimed_by: str) -> RequestRecord | None:
        """Compare-and-set preflight -> executing, claimed by `claimed_by`, for a break-glass request
        whose pre-flight passed: no approval is asked. Its review starts (awaiting); audit
        `break_glass_executing`. None when it was not in pre-flight any more (cancelled meanwhile).
        Raises `StoreUnavailable`."""
        now = self._clock.now()
        async with self._begin(write=True) as conn:
            row = (
                (
                    await conn.execute(
                        update(_R)
                        .where(
                            _R.c.id == request_id,
                            _R.c.break_glass.is_(True),
                            _R.c.status == RequestStatus.PREFLIGHT.value,
                        )
                        .values(
                            status=RequestStatus.EXECUTING.value,
                            updated_at=now,
                            claimed_by=claimed_by,
                            heartbeat_at=now,
                            review_state=ReviewState.AWAITING.value,
                        )
                        .returning(_R)
                    )
                )
                .mappings()
                .first()
            )
            if row is not None:
                entry: AuditEntry = ("bot", "break_glass_executing", {"worker": claimed_by})
                await insert_audit(conn, request_id, entry, now)
        return None if row is None else request_record(row)

    async def review_break_glass(
        self,
        request_id: int,
        user_id: str,
        new: ReviewState,
        *,
        from_states: Collection[ReviewState],
        reason: str | None = None,
    ) -> RequestRecord | None:
        """Compare-and-set of the review: `new` only from one of `from_states`, by `user_id`, with the
        audit event `break_glass_<new>` (and the flagger's reason) in the same transaction. None when the
        review had moved on (another approver was first) or the request is no break-glass.
        Raises `StoreUnavailable`."""
        now = self._clock.now()
        async with self._begin(write=True) as conn:
            row = (
                (
                    await conn.execute(
                        update(_R)
                        .where(
                            _R.c.id == request_id,
                            _R.c.break_glass.is_(True),
                            _R.c.review_state.in_([s.value for s in from_states]),
                        )
                        .values(
                            review_state=new.value, reviewed_by=user_id, review_reason=reason, reviewed_at=now
                        )
                        .returning(_R)
                    )
                )
                .mappings()
                .first()
            )
            if row is not None:
                events: list[AuditEntry] = [
                    (user_id, f"break_glass_{new.value}", {"reason": reason} if reason else None)
                ]
                await insert_audits(conn, request_id, events, now)
        return None if row is None else request_record(row)

    async def awaiting_review(self, started_before: datetime) -> list[RequestRecord]:
        """Break-glass requests created before `started_before` that no approver has reviewed yet.
        Raises `StoreUnavailable`."""
        query = (
            select(_R)
            .where(
                _R.c.break_glass.is_(True),
                _R.c.review_state == ReviewState.AWAITING.value,
                _R.c.created_at <= started_before,
            )
            .order_by(_R.c.id)
        )
        return await self._requests(query)

    async def mark_review_reminded(self, request_id: int, previous: datetime | None, now: datetime) -> bool:
        """Compare-and-set on the last reminder's time: one replica, once, sends each reminder.
        Raises `StoreUnavailable`."""
        last = _R.c.review_reminded_at
        stmt = (
            update(_R)
            .where(
                _R.c.id == request_id,
                _R.c.review_state == ReviewState.AWAITING.value,
                last.is_(None) if previous is None else last == previous,
            )
            .values(review_reminded_at=now)
        )
        async with self._begin(write=True) as conn:
            return (await conn.execute(stmt)).rowcount == 1
