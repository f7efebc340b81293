"""An execution's claim on a request: its start, heartbeat, finish and takeover by another replica."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from bot.domain import RequestRecord, RequestStatus
from bot.store import schema
from bot.store.engine import Database
from bot.store.records import AuditEntry, FinishedExecution, ServerUpdate
from bot.store.rows import request_record
from bot.store.statements import apply_server_updates, beat, insert_audit, move_status, seal, stale

_R = schema.requests
_V = schema.reveals


class Executions(Database):
    """The executing worker's claim, proven by its heartbeat."""

    async def start_execution(
        self,
        request_id: int,
        claimed_by: str,
        user_id: str,
        plaintext: str,
        skipped: Sequence[ServerUpdate] = (),
        now: datetime | None = None,
    ) -> bool:
        """Before the first cloud call, in one transaction: check the claim (and beat), mark `skipped`
        servers, seal the password(s) (see `seal_secret`). False, with nothing written, when this worker
        no longer holds the request. Raises `StoreUnavailable` (nothing written)."""
        now = now or self._clock.now()
        ciphertext = self._sealer.seal(plaintext)
        async with self._begin(write=True) as conn:
            if not await beat(conn, request_id, claimed_by, now):
                return False
            if skipped:
                await apply_server_updates(conn, request_id, skipped)
            await seal(conn, request_id, user_id, ciphertext, now)
        return True

    async def finish_execution(
        self,
        request_id: int,
        status: RequestStatus,
        outcome_message: str,
        *,
        audit: AuditEntry,
        reveal_until: datetime | None,
        now: datetime | None = None,
    ) -> FinishedExecution | None:
        """Move an execution to its final `status` (compare-and-set from executing), append `audit`, and
        either arm the sealed secret for the reveal until `reveal_until` (`reveal_token` stays None when
        there is no sealed secret left to arm) or, when None, erase it: one transaction. None when the
        request had already left executing (nothing written). Raises `StoreUnavailable`."""
        now = now or self._clock.now()
        async with self._begin(write=True) as conn:
            row = await move_status(
                conn, request_id, {RequestStatus.EXECUTING}, status, now, outcome_message, None
            )
            if row is None:
                return None
            await insert_audit(conn, request_id, audit, now)
            token: str | None = None
            if reveal_until is not None:
                token = (
                    await conn.execute(
                        update(_V)
                        .where(_V.c.request_id == request_id, _V.c.ciphertext.is_not(None))
                        .values(expires_at=reveal_until)
                        .returning(_V.c.token)
                    )
                ).scalar_one_or_none()
            else:
                await conn.execute(update(_V).where(_V.c.request_id == request_id).values(ciphertext=None))
        return FinishedExecution(request_record(row), None if token is None else str(token))

    async def heartbeat(self, request_id: int, claimed_by: str, now: datetime) -> bool:
        """Prove the executing worker is alive; False when it lost the claim (so it must stop).
        Raises `StoreUnavailable`."""
        async with self._begin(write=True) as conn:
            return await beat(conn, request_id, claimed_by, now)

    async def stale_executions(self, older_than: datetime) -> list[RequestRecord]:
        """Executions whose worker stopped beating before `older_than`: candidates for recovery.
        Raises `StoreUnavailable`."""
        query = (
            select(_R)
            .where(
                _R.c.status == RequestStatus.EXECUTING.value,
                stale(older_than),
            )
            .order_by(_R.c.id)
        )
        return await self._requests(query)

    async def take_over_execution(
        self, request_id: int, stale_before: datetime, claimed_by: str, now: datetime
    ) -> RequestRecord | None:
        """Compare-and-set on the heartbeat: one replica, and only one, inherits a dead worker's execution.
        Raises `StoreUnavailable`."""
        stmt = (
            update(_R)
            .where(
                _R.c.id == request_id,
                _R.c.status == RequestStatus.EXECUTING.value,
                stale(stale_before),
            )
            .values(claimed_by=claimed_by, heartbeat_at=now, updated_at=now)
            .returning(_R)
        )
        async with self._begin(write=True) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else request_record(row)
