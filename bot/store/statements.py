"""Statements several parts of the store share, each run on the caller's connection (its transaction)."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    RowMapping,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import RequestStatus
from bot.store import schema
from bot.store.errors import UnknownRequest
from bot.store.records import AuditEntry, ServerUpdate

_R = schema.requests
_S = schema.request_servers
_A = schema.audit_events
_V = schema.reveals


async def move_status(
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


async def insert_audit(
    conn: AsyncConnection, request_id: int | None, entry: AuditEntry, now: datetime
) -> None:
    actor, event_name, detail = entry
    await conn.execute(
        insert(_A).values(
            request_id=request_id, actor=actor, event=event_name, detail=dict(detail or {}), created_at=now
        )
    )


async def insert_audits(
    conn: AsyncConnection, request_id: int | None, entries: Sequence[AuditEntry], now: datetime
) -> None:
    """Several audit rows in one executemany, in order."""
    rows = [
        {"request_id": request_id, "actor": a, "event": e, "detail": dict(d or {}), "created_at": now}
        for a, e, d in entries
    ]
    await conn.execute(insert(_A), rows)


async def beat(conn: AsyncConnection, request_id: int, claimed_by: str, now: datetime) -> bool:
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


async def seal(conn: AsyncConnection, request_id: int, user_id: str, ciphertext: bytes, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    values = {
        "token": token,
        "user_id": user_id,
        "ciphertext": ciphertext,
        "created_at": now,
        "expires_at": None,
        "revealed_at": None,
        "lease": None,
        "leased_until": None,
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


async def apply_server_updates(
    conn: AsyncConnection, request_id: int, updates: Sequence[ServerUpdate]
) -> None:
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


def stale(before: datetime) -> ColumnElement[bool]:
    """An execution whose worker last beat before `before`; a claim never beaten counts from its update."""
    return or_(
        _R.c.heartbeat_at < before,
        and_(_R.c.heartbeat_at.is_(None), _R.c.updated_at < before),
    )


def by_submission(submission_key: str) -> Select[Any]:
    return select(_R).where(_R.c.submission_key == submission_key)
