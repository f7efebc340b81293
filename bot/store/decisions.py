"""Approvers' decisions: one approval (and the claim it may complete) in one transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.domain import Decision, DecisionRecord, RequestStatus
from bot.store import schema
from bot.store.engine import Database
from bot.store.errors import UnknownRequest
from bot.store.records import ApprovalOutcome, AuditEntry
from bot.store.rows import request_record
from bot.store.statements import insert_audits, move_status

_R = schema.requests
_D = schema.decisions


class Decisions(Database):
    """Approvals and denials, read under the request row's lock."""

    async def approve(
        self,
        request_id: int,
        user_id: str,
        *,
        approvals_required: int,
        claimed_by: str,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> ApprovalOutcome:
        """One approval, in one transaction: under the request row's lock, check it is pending, record the
        decision and its audit event, count the approvals and, when this was the last one needed, move it
        pending -> executing claimed by `claimed_by` (heartbeat started), with the audit events
        `approved`, `fully_approved` and `executing`. Exactly one concurrent approver can claim it: the
        row lock serialises them and the move is a compare-and-set on `pending`.
        `now` defaults to the store's clock. Raises `UnknownRequest` when there is no such request, else
        `StoreUnavailable`."""
        now = now or self._clock.now()
        approvals_so_far = (
            select(func.count())
            .select_from(_D)
            .where(_D.c.request_id == request_id, _D.c.decision == Decision.APPROVE.value)
            .scalar_subquery()
        )
        decided = (
            select(func.count())
            .select_from(_D)
            .where(_D.c.request_id == request_id, _D.c.user_id == user_id)
            .scalar_subquery()
        )
        counts = select(approvals_so_far.label("approvals"), decided.label("decided"))
        async with self._begin(write=True) as conn:
            if self._is_sqlite:
                # BEGIN IMMEDIATE already serialises writers: one statement (each is several hops
                # through aiosqlite's worker thread).
                found = (
                    await conn.execute(
                        select(_R.c.status, *counts.selected_columns).where(_R.c.id == request_id)
                    )
                ).first()
                status_value = None if found is None else found.status
            else:
                # Lock first, count after: under READ COMMITTED a statement that waited for the lock
                # still sees the decisions of its own (older) snapshot, so two last approvals could
                # both count one too few.
                status_value = (
                    await conn.execute(select(_R.c.status).where(_R.c.id == request_id).with_for_update())
                ).scalar()
                found = None if status_value is None else (await conn.execute(counts)).first()
            if status_value is None or found is None:
                raise UnknownRequest(f"request {request_id} does not exist")
            status = RequestStatus(status_value)
            if status != RequestStatus.PENDING or found.decided:
                return ApprovalOutcome(False, status)
            await conn.execute(
                insert(_D).values(
                    request_id=request_id,
                    user_id=user_id,
                    decision=Decision.APPROVE.value,
                    reason=reason,
                    created_at=now,
                )
            )
            approvals = int(found.approvals) + 1
            events: list[AuditEntry] = [(user_id, "approved", None)]
            row = None
            if approvals >= approvals_required:
                row = await move_status(
                    conn, request_id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, now, None, claimed_by
                )
                if row is not None:  # always, under the lock; the compare-and-set keeps it exactly once
                    events += [
                        ("bot", "fully_approved", {"approvals": approvals}),
                        ("bot", "executing", {"worker": claimed_by}),
                    ]
            await insert_audits(conn, request_id, events, now)
        if row is None:
            return ApprovalOutcome(True, status, approvals)
        return ApprovalOutcome(True, RequestStatus.EXECUTING, approvals, request_record(row))

    async def add_decision(
        self,
        request_id: int,
        user_id: str,
        decision: Decision,
        reason: str | None,
        *,
        while_in: Collection[RequestStatus] | None = None,
    ) -> bool:
        """Record one approver's decision; False if they had already decided (the UNIQUE constraint) or,
        with `while_in`, if the request is no longer in one of those statuses. The status is read under
        the row's lock, so a decision never lands on a request that a concurrent transition just closed.
        Raises `UnknownRequest` when there is no such request, else `StoreUnavailable`."""
        stmt = insert(_D).values(
            request_id=request_id,
            user_id=user_id,
            decision=decision.value,
            reason=reason,
            created_at=self._clock.now(),
        )
        try:
            async with self._begin(write=True) as conn:
                if while_in is not None:
                    status = (
                        await conn.execute(select(_R.c.status).where(_R.c.id == request_id).with_for_update())
                    ).scalar()
                    if status is None:
                        raise UnknownRequest(f"request {request_id} does not exist")
                    if status not in {s.value for s in while_in}:
                        return False
                await conn.execute(stmt)
        except IntegrityError:
            async with self._begin() as conn:
                exists = (await conn.execute(select(_R.c.id).where(_R.c.id == request_id))).first()
            if exists is None:
                raise UnknownRequest(f"request {request_id} does not exist") from None
            return False
        return True

    async def decisions(self, request_id: int) -> list[DecisionRecord]:
        """The decisions on request `request_id`, in the order they were made (empty: none yet).
        Raises `StoreUnavailable`."""
        query = select(_D).where(_D.c.request_id == request_id).order_by(_D.c.id)
        async with self._begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            DecisionRecord(
                request_id=row["request_id"],
                user_id=row["user_id"],
                decision=Decision(row["decision"]),
                reason=row["reason"],
                created_at=row["created_at"],
            )
            for row in rows
        ]
