"""The one place that reads and writes the database: compare-and-set moves, sealed secrets, the audit trail.

Every state change is a single conditional statement (or one short transaction), so two replicas clicking
at once cannot both win. SQLite is the default; PostgreSQL is for several replicas.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import zlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from asyncpg.exceptions import PostgresConnectionError as _PgConnectionError  # type: ignore[import-untyped]
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.domain import (
    AuditRecord,
    Decision,
    DecisionRecord,
    NewRequest,
    NewServer,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    RevealOutcome,
    ServerPhase,
    ServerRecord,
)
from bot.store import schema
from bot.store.errors import StoreUnavailable, UnknownRequest
from bot.store.group_commit import GroupCommit
from bot.store.records import (
    ApprovalOutcome,
    AuditEntry,
    CreatedRequest,
    FinishedExecution,
    RevealResult,
    ServerUpdate,
)
from bot.store.sealing import Sealer

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number works: it only has to be the same on every replica (crc32 of a schema for isolation).
_MIGRATION_LOCK_KEY = 0x45435352  # "ECSR"
_SQLITE_BUSY_TIMEOUT_MS = 15_000
_R = schema.requests
_S = schema.request_servers
_D = schema.decisions
_A = schema.audit_events
_V = schema.reveals

_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError, _PgConnectionError)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_url(url: str) -> URL:
    """Accept the URLs operators write (sqlite:///…, postgres://…) and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres") and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    return parsed


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class Store:
    """Async access to requests, servers, decisions, audit events and sealed secrets.

    Build it with `await Store.open(url, secret_keys=[...])`, then `await store.migrate()` once at start.
    Timestamps in and out are timezone-aware UTC. Audit `detail` must never hold a secret: the workflow
    passes only ids, names, counts and error codes there (the store cannot tell a password from a name).
    """

    def __init__(self, engine: AsyncEngine, sealer: Sealer, *, schema_name: str | None = None) -> None:
        self._engine = engine
        self._sealer = sealer
        self._schema_name = schema_name
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._display_url = engine.url.render_as_string(hide_password=True)
        # An in-memory SQLite database is one shared connection: take turns on it.
        self._memory_lock = asyncio.Lock() if _is_memory(engine.url) else None
        # SQLite has one writer; a second BEGIN IMMEDIATE waits in SQLite's busy handler, which sleeps in
        # steps of up to 100 ms. Writers of this process queue here instead and start as soon as the lock is
        # free (p99 of a contended click 100-250 ms -> see BENCHMARKS.md). Other processes still meet the
        # busy timeout.
        self._sqlite_writers = asyncio.Lock() if self._is_sqlite and self._memory_lock is None else None
        # Audit events outside a transition (a refused click, a reveal) are one row each: under a burst of
        # clicks they share transactions instead of queueing one by one on the writer.
        self._audit_rows: GroupCommit[dict[str, Any]] = GroupCommit(self._insert_audit)

    def __repr__(self) -> str:
        return f"Store({self._display_url!r})"

    # -- lifecycle -----------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        secret_keys: Sequence[str],
        echo: bool = False,
        schema: str | None = None,
        connect_timeout: float = 5.0,
    ) -> Store:
        """Build the engine without connecting; `schema` (PostgreSQL only) puts every table in that schema."""
        sealer = Sealer(secret_keys)
        parsed = normalise_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            if schema is not None:
                raise ValueError("schema= is only supported on PostgreSQL")
            if _is_memory(parsed):
                kwargs["poolclass"] = StaticPool
            else:
                assert parsed.database is not None
                await asyncio.to_thread(_make_parent_folder, parsed.database)
            # A local file cannot drop a connection, so no pre-ping; and every use of a connection is one
            # `begin()` block that commits or rolls back, so no reset on return. Each of those was one
            # more hop through aiosqlite's worker thread on every transaction (~1.5 ms of ~3 ms here).
            kwargs["pool_reset_on_return"] = None
            kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            server_settings = {"application_name": "ecs-reset-bot"}
            if schema is not None:
                server_settings["search_path"] = schema
            kwargs.update(
                pool_pre_ping=True,
                pool_timeout=max(connect_timeout * 2, 10.0),
                connect_args={
                    "timeout": connect_timeout,
                    "command_timeout": 60,
                    "server_settings": server_settings,
                },
            )
        engine = create_async_engine(parsed, **kwargs)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        return cls(engine, sealer, schema_name=schema)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query."""
        async with self._begin() as conn:
            await conn.execute(select(1))

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; safe to run on every start and on replicas at once."""
        async with self._begin(write=True) as conn:
            if conn.dialect.name == "postgresql":
                key = _MIGRATION_LOCK_KEY
                if self._schema_name is not None:
                    key = zlib.crc32(self._schema_name.encode("utf-8"))
                # Held until commit: a second replica waits, then finds the schema already at head.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            await conn.run_sync(_upgrade_to_head)
        log.info("database schema is up to date", extra={"database": self._display_url})

    # -- plumbing --------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _begin(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction; connection trouble becomes StoreUnavailable without SQL or parameters."""
        try:
            if self._memory_lock is not None:
                async with self._memory_lock, self._transaction(write) as conn:
                    yield conn
            elif write and self._sqlite_writers is not None:
                async with self._sqlite_writers, self._transaction(write) as conn:
                    yield conn
            else:
                async with self._transaction(write) as conn:
                    yield conn
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(self._describe(exc)) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(self._describe(exc)) from exc
            raise

    @asynccontextmanager
    async def _transaction(self, write: bool) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if write and self._is_sqlite:
                # Take SQLite's write lock up front so read-then-write transactions wait instead of failing.
                conn = await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            async with conn.begin():
                yield conn

    def _describe(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        kind = type(orig).__name__
        return f"database {self._display_url} is unavailable: {kind}" + (f": {reason}" if reason else "")

    # -- requests --------------------------------------------------------------------------------------------

    async def create_request(self, new: NewRequest, servers: Sequence[NewServer]) -> RequestRecord:
        """Insert the request and all its servers in one transaction: all or nothing. With a
        `submission_key` already used, nothing is written and the earlier request is returned."""
        return (await self.create_request_once(new, servers)).request

    async def create_request_once(self, new: NewRequest, servers: Sequence[NewServer]) -> CreatedRequest:
        """`create_request`, telling whether it created the request or found it by its submission key.

        The key's unique index decides between identical submissions, even two at once on two replicas:
        the loser's INSERT … ON CONFLICT DO NOTHING waits for the winner's commit (PostgreSQL) or its
        turn at SQLite's single writer, inserts nothing, and reads the winner's row.
        """
        now = _utcnow()
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
        }
        async with self._begin(write=True) as conn:
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
                earlier = (await conn.execute(_by_submission(new.submission_key))).mappings().one()
                return CreatedRequest(_request(earlier), created=False)
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
                        }
                        for s in servers
                    ],
                )
        return CreatedRequest(_request(row), created=True)

    async def request_for_submission(self, submission_key: str) -> RequestRecord | None:
        """The request created from this submission, if any (see `NewRequest.submission_key`)."""
        async with self._begin() as conn:
            row = (await conn.execute(_by_submission(submission_key))).mappings().first()
        return None if row is None else _request(row)

    async def get_request(self, request_id: int) -> RequestRecord | None:
        async with self._begin() as conn:
            row = (await conn.execute(select(_R).where(_R.c.id == request_id))).mappings().first()
        return None if row is None else _request(row)

    async def list_requests(
        self,
        *,
        requester_id: str | None = None,
        target: str | None = None,
        statuses: Collection[RequestStatus] | None = None,
        limit: int = 20,
    ) -> list[RequestRecord]:
        """Newest first."""
        query = select(_R).order_by(_R.c.id.desc()).limit(limit)
        if requester_id is not None:
            query = query.where(_R.c.requester_id == requester_id)
        if target is not None:
            query = query.where(_R.c.target == target)
        if statuses is not None:
            query = query.where(_R.c.status.in_([s.value for s in statuses]))
        return await self._requests(query)

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
        """
        if not expected:
            return None
        now = now or _utcnow()
        async with self._begin(write=True) as conn:
            row = await _transition(conn, request_id, expected, new, now, outcome_message, claimed_by)
            if row is not None and audit is not None:
                await _insert_audit(conn, request_id, audit, now)
        return None if row is None else _request(row)

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
        pending -> approved -> executing claimed by `claimed_by` (heartbeat started), with the audit events
        `approved`, `fully_approved` and `executing`. Exactly one concurrent approver can claim it: the
        row lock serialises them and the move is a compare-and-set on `pending`."""
        now = now or _utcnow()
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
                row = await _transition(
                    conn, request_id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, now, None, claimed_by
                )
                if row is not None:  # always, under the lock; the compare-and-set keeps it exactly once
                    events += [
                        ("bot", "fully_approved", {"approvals": approvals}),
                        ("bot", "executing", {"worker": claimed_by}),
                    ]
            await _insert_audits(conn, request_id, events, now)
        if row is None:
            return ApprovalOutcome(True, status, approvals)
        return ApprovalOutcome(True, RequestStatus.EXECUTING, approvals, _request(row))

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
        no longer holds the request."""
        now = now or _utcnow()
        ciphertext = self._sealer.seal(plaintext)
        async with self._begin(write=True) as conn:
            if not await _beat(conn, request_id, claimed_by, now):
                return False
            if skipped:
                await _update_servers(conn, request_id, skipped)
            await _seal(conn, request_id, user_id, ciphertext, now)
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
        request had already left executing (nothing written)."""
        now = now or _utcnow()
        async with self._begin(write=True) as conn:
            row = await _transition(
                conn, request_id, {RequestStatus.EXECUTING}, status, now, outcome_message, None
            )
            if row is None:
                return None
            await _insert_audit(conn, request_id, audit, now)
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
        return FinishedExecution(_request(row), None if token is None else str(token))

    async def heartbeat(self, request_id: int, claimed_by: str, now: datetime) -> bool:
        """Prove the executing worker is alive; False when it lost the claim (so it must stop)."""
        async with self._begin(write=True) as conn:
            return await _beat(conn, request_id, claimed_by, now)

    async def stale_executions(self, older_than: datetime) -> list[RequestRecord]:
        """Executions whose worker stopped beating before `older_than`: candidates for recovery."""
        query = (
            select(_R)
            .where(
                _R.c.status == RequestStatus.EXECUTING.value,
                _stale(older_than),
            )
            .order_by(_R.c.id)
        )
        return await self._requests(query)

    async def take_over_execution(
        self, request_id: int, stale_before: datetime, claimed_by: str, now: datetime
    ) -> RequestRecord | None:
        """Compare-and-set on the heartbeat: one replica, and only one, inherits a dead worker's execution."""
        stmt = (
            update(_R)
            .where(
                _R.c.id == request_id,
                _R.c.status == RequestStatus.EXECUTING.value,
                _stale(stale_before),
            )
            .values(claimed_by=claimed_by, heartbeat_at=now, updated_at=now)
            .returning(_R)
        )
        async with self._begin(write=True) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _request(row)

    async def take_over_stalled(
        self, request_id: int, status: RequestStatus, stalled_before: datetime, now: datetime
    ) -> RequestRecord | None:
        """Compare-and-set on `updated_at`: one replica, and only one, picks up a request in `status` that
        has not moved since `stalled_before` (a pre-flight whose process stopped, a pending request whose
        messages may be missing); it counts from `now` again, so a later pass leaves it alone unless it
        stalls once more."""
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
        return None if row is None else _request(row)

    async def requests_in(self, statuses: Collection[RequestStatus]) -> list[RequestRecord]:
        """Every request in those statuses, oldest first (for recovery at start)."""
        if not statuses:
            return []
        query = select(_R).where(_R.c.status.in_([s.value for s in statuses])).order_by(_R.c.id)
        return await self._requests(query)

    async def due_for_expiry(self, now: datetime) -> list[RequestRecord]:
        """Requests still waiting (pre-flight or pending) whose expiry time has come."""
        waiting = [RequestStatus.PREFLIGHT.value, RequestStatus.PENDING.value]
        query = select(_R).where(_R.c.status.in_(waiting), _R.c.expires_at <= now).order_by(_R.c.expires_at)
        return await self._requests(query)

    async def due_for_reminder(self, before: datetime) -> list[RequestRecord]:
        """Pending requests created before `before` that nobody has been reminded about yet."""
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
        """Compare-and-set on reminded_at: True for the one replica that should send the reminder."""
        stmt = update(_R).where(_R.c.id == request_id, _R.c.reminded_at.is_(None)).values(reminded_at=now)
        async with self._begin(write=True) as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def set_message_ref(self, request_id: int, key: str, value: str) -> None:
        """Remember where a Slack message lives (e.g. the card's channel and ts), merged with the others."""
        async with self._begin(write=True) as conn:
            current = (
                await conn.execute(select(_R.c.message_refs).where(_R.c.id == request_id).with_for_update())
            ).scalar_one_or_none()
            if current is None:
                raise UnknownRequest(f"request {request_id} does not exist")
            merged = {**current, key: value}
            await conn.execute(update(_R).where(_R.c.id == request_id).values(message_refs=merged))

    async def _requests(self, query: Any) -> list[RequestRecord]:
        async with self._begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_request(row) for row in rows]

    # -- servers ---------------------------------------------------------------------------------------------

    async def servers(self, request_id: int) -> list[ServerRecord]:
        query = (
            select(*_SERVER_COLUMNS).where(_S.c.request_id == request_id).order_by(_S.c.name, _S.c.server_id)
        )
        async with self._begin() as conn:
            rows = (await conn.execute(query)).all()
        return [_server(*row) for row in rows]

    async def update_servers(self, request_id: int, updates: Sequence[ServerUpdate]) -> None:
        """Apply many per-server changes with one executemany; a None field keeps its stored value."""
        if not updates:
            return
        async with self._begin(write=True) as conn:
            await _update_servers(conn, request_id, updates)

    # -- decisions and audit ---------------------------------------------------------------------------------

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
        the row's lock, so a decision never lands on a request that a concurrent transition just closed."""
        stmt = insert(_D).values(
            request_id=request_id,
            user_id=user_id,
            decision=decision.value,
            reason=reason,
            created_at=_utcnow(),
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
            if await self.get_request(request_id) is None:
                raise UnknownRequest(f"request {request_id} does not exist") from None
            return False
        return True

    async def decisions(self, request_id: int) -> list[DecisionRecord]:
        """In the order they were made."""
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

    async def add_audit(
        self,
        request_id: int | None,
        actor: str,
        event: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append to the trail. `detail` must be JSON-serialisable and must never contain a secret."""
        row = {
            "request_id": request_id,
            "actor": actor,
            "event": event,
            "detail": dict(detail or {}),
            "created_at": _utcnow(),
        }
        await self._audit_rows.add([row])

    async def _insert_audit(self, rows: list[dict[str, Any]]) -> None:
        async with self._begin(write=True) as conn:
            await conn.execute(insert(_A), rows)

    async def audit(self, request_id: int | None = None, limit: int = 200) -> list[AuditRecord]:
        """The latest `limit` events (of one request, or of all), returned oldest first."""
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

    # -- sealed secrets and the one-time reveal --------------------------------------------------------------

    async def seal_secret(self, request_id: int, user_id: str, plaintext: str) -> str:
        """Keep the generated password(s) encrypted so a crash before delivery loses nothing.

        `plaintext` is opaque to the store (the workflow may JSON-encode one password per server). Not
        revealable until `arm_reveal`. Sealing again for the same request replaces the secret and the token.
        """
        ciphertext = self._sealer.seal(plaintext)
        async with self._begin(write=True) as conn:
            return await _seal(conn, request_id, user_id, ciphertext, _utcnow())

    async def unseal_secret(self, request_id: int) -> str | None:
        """Decrypt to resume an execution after a crash; None once revealed, expired or erased."""
        query = select(_V.c.ciphertext).where(_V.c.request_id == request_id)
        async with self._begin() as conn:
            ciphertext = (await conn.execute(query)).scalar_one_or_none()
        return None if ciphertext is None else self._sealer.unseal(ciphertext)

    async def arm_reveal(self, request_id: int, expires_at: datetime) -> str:
        """Make the sealed secret revealable until `expires_at`; returns the token for the Reveal button."""
        stmt = (
            update(_V)
            .where(_V.c.request_id == request_id, _V.c.ciphertext.is_not(None))
            .values(expires_at=expires_at)
            .returning(_V.c.token)
        )
        async with self._begin(write=True) as conn:
            token = (await conn.execute(stmt)).scalar_one_or_none()
        if token is None:
            raise UnknownRequest(f"request {request_id} has no sealed secret to reveal")
        return str(token)

    async def take_reveal(self, token: str, user_id: str, now: datetime) -> RevealResult:
        """Hand the secret out exactly once to its owner, within its window, then forget it.

        The row is locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) and cleared by a guarded
        UPDATE in the same transaction, so concurrent takers on any replica see it revealed. (A lone
        UPDATE … RETURNING cannot do it: RETURNING yields the new, already cleared, ciphertext.)
        """
        async with self._begin(write=True) as conn:
            row = (
                (await conn.execute(select(_V).where(_V.c.token == token).with_for_update()))
                .mappings()
                .first()
            )
            refusal = _why_not_revealable(row, user_id, now)
            if refusal is not None:
                return refusal
            assert row is not None
            cleared = await conn.execute(
                update(_V)
                .where(_V.c.token == token, _V.c.ciphertext.is_not(None))
                .values(ciphertext=None, revealed_at=now)
            )
            if cleared.rowcount != 1:  # impossible under the lock; the guard keeps it exactly once anyway
                return RevealResult(RevealOutcome.ALREADY_REVEALED, request_id=row["request_id"])
            # Decrypt before commit: a wrong key raises, the transaction rolls back, nothing is lost.
            secret = self._sealer.unseal(row["ciphertext"])
            return RevealResult(RevealOutcome.REVEALED, request_id=row["request_id"], secret=secret)

    async def erase_expired_reveals(self, now: datetime) -> int:
        """Drop ciphertexts whose reveal window has closed; returns how many were erased."""
        stmt = (
            update(_V)
            .where(_V.c.ciphertext.is_not(None), _V.c.expires_at.is_not(None), _V.c.expires_at <= now)
            .values(ciphertext=None)
        )
        async with self._begin(write=True) as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)

    async def erase_secret(self, request_id: int) -> None:
        """Forget the secret for good (request failed, cancelled, or delivered another way)."""
        stmt = update(_V).where(_V.c.request_id == request_id).values(ciphertext=None)
        async with self._begin(write=True) as conn:
            await conn.execute(stmt)


# -- statements shared by several methods, each run on the caller's connection (its transaction) -----------


async def _transition(
    conn: AsyncConnection,
    request_id: int,
    expected: Collection[RequestStatus],
    new: RequestStatus,
    now: datetime,
    outcome_message: str | None,
    claimed_by: str | None,
) -> RowMapping | None:
    values: dict[str, Any] = {"status": new.value, "updated_at": now}
    if outcome_message is not None:
        values["outcome_message"] = outcome_message
    if claimed_by is not None:
        values["claimed_by"] = claimed_by
        values["heartbeat_at"] = now
    stmt = (
        update(_R)
        .where(_R.c.id == request_id, _R.c.status.in_([s.value for s in expected]))
        .values(**values)
        .returning(_R)
    )
    row: RowMapping | None = (await conn.execute(stmt)).mappings().first()
    return row


async def _insert_audit(
    conn: AsyncConnection, request_id: int | None, entry: AuditEntry, now: datetime
) -> None:
    actor, event_name, detail = entry
    await conn.execute(
        insert(_A).values(
            request_id=request_id, actor=actor, event=event_name, detail=dict(detail or {}), created_at=now
        )
    )


async def _insert_audits(
    conn: AsyncConnection, request_id: int | None, entries: Sequence[AuditEntry], now: datetime
) -> None:
    """Several audit rows in one executemany, in order."""
    rows = [
        {"request_id": request_id, "actor": a, "event": e, "detail": dict(d or {}), "created_at": now}
        for a, e, d in entries
    ]
    await conn.execute(insert(_A), rows)


async def _beat(conn: AsyncConnection, request_id: int, claimed_by: str, now: datetime) -> bool:
    stmt = (
        update(_R)
        .where(
            _R.c.id == request_id,
            _R.c.claimed_by == claimed_by,
            _R.c.status == RequestStatus.EXECUTING.value,
        )
        .values(heartbeat_at=now)
    )
    return (await conn.execute(stmt)).rowcount == 1


async def _seal(
    conn: AsyncConnection, request_id: int, user_id: str, ciphertext: bytes, now: datetime
) -> str:
    token = secrets.token_urlsafe(32)
    values = {
        "token": token,
        "user_id": user_id,
        "ciphertext": ciphertext,
        "created_at": now,
        "expires_at": None,
        "revealed_at": None,
    }
    # One upsert on the request's unique row: sealing again replaces the secret and the token.
    dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = (
        dialect_insert(_V)
        .values(request_id=request_id, **values)
        .on_conflict_do_update(index_elements=[_V.c.request_id], set_=values)
    )
    try:
        await conn.execute(stmt)
    except IntegrityError:
        raise UnknownRequest(f"request {request_id} does not exist") from None
    return token


async def _update_servers(conn: AsyncConnection, request_id: int, updates: Sequence[ServerUpdate]) -> None:
    """Apply many per-server changes with one executemany; a None field keeps its stored value."""
    c = _S.c
    stmt = (
        update(_S)
        .where(c.request_id == bindparam("b_request_id"), c.server_id == bindparam("b_server_id"))
        .values(
            phase=func.coalesce(bindparam("b_phase", type_=String), c.phase),
            error_code=func.coalesce(bindparam("b_error_code", type_=String), c.error_code),
            error_message=func.coalesce(bindparam("b_error_message", type_=Text), c.error_message),
            os_type=func.coalesce(bindparam("b_os_type", type_=String), c.os_type),
            cloud_status=func.coalesce(bindparam("b_cloud_status", type_=String), c.cloud_status),
            locked=func.coalesce(bindparam("b_locked", type_=Boolean), c.locked),
            plugin_installed=func.coalesce(
                bindparam("b_plugin_installed", type_=Boolean), c.plugin_installed
            ),
            preflight_error=case(
                (bindparam("b_clear_preflight_error", type_=Boolean), None),
                else_=func.coalesce(bindparam("b_preflight_error", type_=Text), c.preflight_error),
            ),
        )
    )
    params = [
        {
            "b_request_id": request_id,
            "b_server_id": u.server_id,
            "b_phase": None if u.phase is None else u.phase.value,
            "b_error_code": u.error_code,
            "b_error_message": u.error_message,
            "b_os_type": u.os_type,
            "b_cloud_status": u.cloud_status,
            "b_locked": u.locked,
            "b_plugin_installed": u.plugin_installed,
            "b_clear_preflight_error": u.clear_preflight_error,
            "b_preflight_error": u.preflight_error,
        }
        for u in updates
    ]
    await conn.execute(stmt, params)


def _stale(before: datetime) -> ColumnElement[bool]:
    """An execution whose worker last beat before `before`; a claim never beaten counts from its update."""
    return or_(
        _R.c.heartbeat_at < before,
        and_(_R.c.heartbeat_at.is_(None), _R.c.updated_at < before),
    )


def _why_not_revealable(row: RowMapping | None, user_id: str, now: datetime) -> RevealResult | None:
    """None when the row may be revealed now to this user; otherwise the reason it may not."""
    if row is None or row["expires_at"] is None:
        # Unknown, or sealed but never armed: nothing to reveal through this token.
        return RevealResult(RevealOutcome.NOT_FOUND)
    request_id = row["request_id"]
    if row["user_id"] != user_id:
        return RevealResult(RevealOutcome.WRONG_USER, request_id=request_id)
    if row["revealed_at"] is not None:
        return RevealResult(RevealOutcome.ALREADY_REVEALED, request_id=request_id)
    if row["ciphertext"] is None or row["expires_at"] <= now:
        return RevealResult(RevealOutcome.EXPIRED, request_id=request_id)
    return None


def _make_parent_folder(database: str) -> None:
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _upgrade_to_head(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def use_wal(cursor: Any) -> None:
    """WAL is kept in the file: the first connection to a new database switches it for all later ones.
    Connections opening the file at the same moment (replicas starting together) can be told "database
    is locked" at once, without the busy timeout, while another one switches it or recovers its log;
    such a connection goes on, and finds the file in WAL at its next transaction."""
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        log.info("another connection holds the database while this one opens; WAL is left to it")


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL and a busy timeout so writers in one process queue up; we issue BEGIN ourselves (see below)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver's own implicit BEGIN so ours (possibly IMMEDIATE) is the one that counts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            if not _is_memory(engine.url):
                use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


def _request(row: RowMapping) -> RequestRecord:
    return RequestRecord(
        id=row["id"],
        target=row["target"],
        requester_id=row["requester_id"],
        reason=row["reason"],
        password_mode=PasswordMode(row["password_mode"]),
        reboot=RebootMode(row["reboot"]),
        approvals_required=row["approvals_required"],
        status=RequestStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_at=row["expires_at"],
        outcome_message=row["outcome_message"],
        claimed_by=row["claimed_by"],
        heartbeat_at=row["heartbeat_at"],
        reminded_at=row["reminded_at"],
        message_refs=dict(row["message_refs"] or {}),
        submission_key=row["submission_key"],
    )


def _by_submission(submission_key: str) -> Select[Any]:
    return select(_R).where(_R.c.submission_key == submission_key)


# A request of 10,000 servers is read several times per run: plain rows in the record's field order,
# and the phase from a dict, cost a third of name-keyed rows and the Enum's own lookup.
_SERVER_COLUMNS = tuple(_S.c[f.name] for f in fields(ServerRecord))
_PHASES = {phase.value: phase for phase in ServerPhase}


def _server(
    request_id: int,
    server_id: str,
    name: str,
    os_type: str | None,
    cloud_status: str | None,
    locked: Any,
    plugin_installed: bool | None,
    preflight_error: str | None,
    phase: str,
    error_code: str | None,
    error_message: str | None,
) -> ServerRecord:
    return ServerRecord(
        request_id,
        server_id,
        name,
        os_type,
        cloud_status,
        bool(locked),
        plugin_installed,
        preflight_error,
        _PHASES[phase],
        error_code,
        error_message,
    )
