"""Reset requests and their servers: creation (once per submission), reads, compare-and-set moves."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import (
    MessageRef,
    NewRequest,
    NewServer,
    RequestRecord,
    RequestStatus,
    ServerPhase,
    ServerRecord,
)
from bot.store import schema
from bot.store.engine import Database
from bot.store.errors import UnknownRequest
from bot.store.records import AuditEntry, CreatedRequest, ServerUpdate
from bot.store.rows import SERVER_COLUMNS, message_refs, request_record, server_record, stored_message_refs
from bot.store.statements import apply_server_updates, by_submission, insert_audit, move_status

_R = schema.requests
_S = schema.request_servers


class Requests(Database):
    """Creating, reading and moving requests; every move is one compare-and-set."""

    async def create_request_once(self, new: NewRequest, servers: Sequence[NewServer]) -> CreatedRequest:
        """Insert the request and all its servers in one transaction: all or nothing. `created` is False
        when a request with the same `submission_key` already existed: nothing is written and that
        earlier request is returned.

        The key's unique index decides between identical submissions, even two at once on two replicas:
        the loser's INSERT … ON CONFLICT DO NOTHING waits for the winner's commit (PostgreSQL) or its
        turn at SQLite's single writer, inserts nothing, and reads the winner's row.
        Raises `StoreUnavailable`.
        """
        async with self._begin(write=True) as conn:
            return await self._create_in(conn, new, servers)

    async def _create_in(
        self, conn: AsyncConnection, new: NewRequest, servers: Sequence[NewServer]
    ) -> CreatedRequest:
        """`create_request_once` on the caller's transaction (a break-glass adds its cooldown to it)."""
        now = self._clock.now()
        values: dict[str, Any] = {
            "target": new.target,
            "requester_id": new.requester_id,
            "reason": new.reason,
            "password_mode": new.password_mode.value,
            "reboot": new.reboot.value,
            "approvals_required": new.approvals_required,
            "status": new.status.value,
            "created_at": now,
            "updated_at": now,
            "expires_at": new.expires_at,
            "message_refs": {},
            "submission_key": new.submission_key,
            "break_glass": new.break_glass or None,
        }
        if new.submission_key is None:
            stmt = insert(_R).values(**values).returning(_R)
        else:
            dialect_insert = sqlite_insert if self._is_sqlite else pg_insert
            stmt = (
                dialect_insert(_R)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[_R.c.submission_key])
                .returning(_R)
            )
        row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            assert new.submission_key is not None  # only a keyed insert skips on conflict
            # Under READ COMMITTED this new statement sees the row the conflicting insert committed.
            earlier = (await conn.execute(by_submission(new.submission_key))).mappings().one()
            return CreatedRequest(request_record(earlier), created=False)
        if servers:
            await conn.execute(
                insert(_S),
                [
                    {
                        "request_id": row["id"],
                        "server_id": s.server_id,
                        "name": s.name,
                        "os_type": s.os_type,
                        "cloud_status": s.cloud_status,
                        "locked": s.locked,
                        "plugin_installed": s.plugin_installed,
                        "preflight_error": s.preflight_error,
                        "phase": ServerPhase.WAITING.value,
                        "private_ip": s.private_ip,
                        "tags": json.dumps(list(s.tags)) if s.tags else None,
                        "namesakes": s.namesakes,
                    }
                    for s in servers
                ],
            )
        return CreatedRequest(request_record(row), created=True)

    async def request_for_submission(self, submission_key: str) -> RequestRecord | None:
        """The request created from this submission, if any (see `NewRequest.submission_key`).
        Raises `StoreUnavailable`."""
        async with self._begin() as conn:
            row = (await conn.execute(by_submission(submission_key))).mappings().first()
        return None if row is None else request_record(row)

    async def get_request(self, request_id: int) -> RequestRecord | None:
        """Request `request_id` as stored now, or None when there is none. Raises `StoreUnavailable`."""
        async with self._begin() as conn:
            row = (await conn.execute(select(_R).where(_R.c.id == request_id))).mappings().first()
        return None if row is None else request_record(row)

    async def list_requests(
        self,
        *,
        requester_id: str | None = None,
        target: str | None = None,
        statuses: Collection[RequestStatus] | None = None,
        limit: int = 20,
    ) -> list[RequestRecord]:
        """At most `limit` requests, newest first, of one requester, one target and/or in `statuses`
        (each filter only when given). Raises `StoreUnavailable`."""
        query = select(_R).order_by(_R.c.id.desc()).limit(limit)
        if requester_id is not None:
            query = query.where(_R.c.requester_id == requester_id)
        if target is not None:
            query = query.where(_R.c.target == target)
        if statuses is not None:
            query = query.where(_R.c.status.in_([s.value for s in statuses]))
        return await self._requests(query)

    async def count_requests(
        self,
        *,
        requester_id: str,
        statuses: Collection[RequestStatus] | None = None,
        since: datetime | None = None,
    ) -> int:
        """How many requests this user made (in these statuses, created at or after `since`): what the
        per-requester limits count, shared by every replica. Raises StoreUnavailable."""
        query = select(func.count()).select_from(_R).where(_R.c.requester_id == requester_id)
        if statuses is not None:
            query = query.where(_R.c.status.in_([s.value for s in statuses]))
        if since is not None:
            query = query.where(_R.c.created_at >= since)
        async with self._begin() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def open_requests_with(
        self, target: str, server_ids: Collection[str], statuses: Collection[RequestStatus]
    ) -> dict[str, int]:
        """Server ID -> the (lowest) number of a request of `target` in `statuses` that holds it, for
        the given servers. Raises StoreUnavailable."""
        if not server_ids:
            return {}
        query = (
            select(_S.c.server_id, func.min(_R.c.id))
            .join(_R, _R.c.id == _S.c.request_id)
            .where(
                _R.c.target == target,
                _R.c.status.in_([s.value for s in statuses]),
                _S.c.server_id.in_(list(server_ids)),
            )
            .group_by(_S.c.server_id)
        )
        async with self._begin() as conn:
            return {str(sid): int(rid) for sid, rid in (await conn.execute(query)).all()}

    async def transition(
        self,
        request_id: int,
        expected: Collection[RequestStatus],
        new: RequestStatus,
        *,
        outcome_message: str | None = None,
        claimed_by: str | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> RequestRecord | None:
        """Compare-and-set: move to `new` only from one of `expected`; None when someone else moved it first.

        One UPDATE … WHERE status IN (…) RETURNING: the database decides the single winner. Claiming
        (`claimed_by`) also starts the heartbeat. `audit` (actor, event, detail) is appended in the same
        transaction, only when the move won: one round trip, and no event without its change.
        Raises `StoreUnavailable`.
        """
        if not expected:
            return None
        now = now or self._clock.now()
        async with self._begin(write=True) as conn:
            row = await move_status(conn, request_id, expected, new, now, outcome_message, claimed_by)
            if row is not None and audit is not None:
                await insert_audit(conn, request_id, audit, now)
        return None if row is None else request_record(row)

    async def take_over_stalled(
        self, request_id: int, status: RequestStatus, stalled_before: datetime, now: datetime
    ) -> RequestRecord | None:
        """Compare-and-set on `updated_at`: one replica, and only one, picks up a request in `status` that
        has not moved since `stalled_before` (a pre-flight whose process stopped, a pending request whose
        messages may be missing); it counts from `now` again, so a later pass leaves it alone unless it
        stalls once more. Raises `StoreUnavailable`."""
        stmt = (
            update(_R)
            .where(
                _R.c.id == request_id,
                _R.c.status == status.value,
                _R.c.updated_at <= stalled_before,
            )
            .values(updated_at=now)
            .returning(_R)
        )
        async with self._begin(write=True) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else request_record(row)

    async def requests_in(self, statuses: Collection[RequestStatus]) -> list[RequestRecord]:
        """Every request in those statuses, oldest first (for recovery at start).
        Raises `StoreUnavailable`."""
        if not statuses:
            return []
        query = select(_R).where(_R.c.status.in_([s.value for s in statuses])).order_by(_R.c.id)
        return await self._requests(query)

    async def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        """Requests still waiting (pre-flight or pending) whose expiry time has come.
        Raises `StoreUnavailable`."""
        waiting = [RequestStatus.PREFLIGHT.value, RequestStatus.PENDING.value]
        query = select(_R).where(_R.c.status.in_(waiting), _R.c.expires_at <= now).order_by(_R.c.expires_at)
        return await self._requests(query)

    async def due_for_reminder(self, before: datetime) -> list[RequestRecord]:
        """Pending requests created before `before` that nobody has been reminded about yet.
        Raises `StoreUnavailable`."""
        query = (
            select(_R)
            .where(
                _R.c.status == RequestStatus.PENDING.value,
                _R.c.reminded_at.is_(None),
                _R.c.created_at <= before,
            )
            .order_by(_R.c.id)
        )
        return await self._requests(query)

    async def mark_reminded(self, request_id: int, now: datetime) -> bool:
        """Compare-and-set on reminded_at: True for the one replica that should send the reminder.
        Raises `StoreUnavailable`."""
        stmt = update(_R).where(_R.c.id == request_id, _R.c.reminded_at.is_(None)).values(reminded_at=now)
        async with self._begin(write=True) as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def set_message_refs(self, request_id: int, refs: Mapping[str, MessageRef]) -> None:
        """Remember where a front end's messages about a request live (e.g. the card's channel and ts),
        merged with the others under the row's lock: a name given again replaces its ref. Raises
        UnknownRequest when there is no such request, StoreUnavailable when the database does not answer."""
        if not refs:
            return
        async with self._begin(write=True) as conn:
            current = (
                await conn.execute(select(_R.c.message_refs).where(_R.c.id == request_id).with_for_update())
            ).scalar_one_or_none()
            if current is None:
                raise UnknownRequest(f"request {request_id} does not exist")
            merged = stored_message_refs({**message_refs(current), **refs})
            await conn.execute(update(_R).where(_R.c.id == request_id).values(message_refs=merged))

    async def servers(self, request_id: int) -> list[ServerRecord]:
        """The servers of request `request_id` by name (then ID); empty when there is no such request.
        Raises `StoreUnavailable`."""
        query = (
            select(*SERVER_COLUMNS).where(_S.c.request_id == request_id).order_by(_S.c.name, _S.c.server_id)
        )
        async with self._begin() as conn:
            rows = (await conn.execute(query)).all()
        return [server_record(*row) for row in rows]

    async def update_servers(self, request_id: int, updates: Sequence[ServerUpdate]) -> None:
        """Apply many per-server changes with one executemany; a None field keeps its stored value.
        Raises `StoreUnavailable`."""
        if not updates:
            return
        async with self._begin(write=True) as conn:
            await apply_server_updates(conn, request_id, updates)
