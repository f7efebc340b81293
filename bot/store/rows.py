"""Database rows turned into the domain's records, so nothing above the store sees SQLAlchemy rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from sqlalchemy import RowMapping

from bot.domain import (
    BreakGlassReview,
    MessageRef,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    ReviewState,
    ServerPhase,
    ServerRecord,
)
from bot.store import schema

# A request of 10,000 servers is read several times per run: plain rows in the record's field order,
# and the phase from a dict, cost a third of name-keyed rows and the Enum's own lookup (bench/execution.py).
_S = schema.request_servers
SERVER_COLUMNS = tuple(_S.c[f.name] for f in fields(ServerRecord))
_PHASES = {phase.value: phase for phase in ServerPhase}


def request_record(row: RowMapping) -> RequestRecord:
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
        message_refs=message_refs(row["message_refs"]),
        submission_key=row["submission_key"],
        break_glass=break_glass_review(row),
    )


def break_glass_review(row: RowMapping) -> BreakGlassReview | None:
    """The break-glass columns of a request row; None for a normal request (rows before 0005 too)."""
    if not row.get("break_glass"):
        return None
    state = row["review_state"]
    return BreakGlassReview(
        state=ReviewState(state) if state else None,
        reviewed_by=row["reviewed_by"],
        reason=row["review_reason"],
        reviewed_at=row["reviewed_at"],
        reminded_at=row["review_reminded_at"],
    )


def server_record(
    server_id: str,
    name: str,
    os_type: str | None,
    cloud_status: str | None,
    locked: Any,
    plugin_installed: bool | None,
    preflight_error: str | None,
    private_ip: str | None,
    tags: str | None,
    namesakes: int | None,
    request_id: int,
    phase: str,
    error_code: str | None,
    error_message: str | None,
) -> ServerRecord:
    """A row of `SERVER_COLUMNS` (the record's field order: its facts, then the reset's state)."""
    return ServerRecord(
        server_id,
        name,
        os_type,
        cloud_status,
        bool(locked),
        plugin_installed,
        preflight_error,
        private_ip,
        tuple(json.loads(tags)) if tags else (),
        namesakes or 0,
        request_id=request_id,
        phase=_PHASES[phase],
        error_code=error_code,
        error_message=error_message,
    )


def message_refs(stored: Mapping[str, Any] | None) -> dict[str, MessageRef]:
    """The `message_refs` column: {"card": {"channel_id": "C1", "message_ts": "1.0"}, ...}. Rows written
    before MessageRef hold "C1:1.0" strings: read as the same refs (a value of neither form is dropped)."""
    refs: dict[str, MessageRef] = {}
    for name, value in (stored or {}).items():
        if isinstance(value, dict) and {"channel_id", "message_ts"} <= value.keys():
            refs[name] = MessageRef(str(value["channel_id"]), str(value["message_ts"]))
        elif isinstance(value, str) and ":" in value:
            channel_id, message_ts = value.split(":", 1)
            refs[name] = MessageRef(channel_id, message_ts)
    return refs


def stored_message_refs(refs: Mapping[str, MessageRef]) -> dict[str, dict[str, str]]:
    """The column's form of `refs` (see `message_refs`)."""
    return {name: {"channel_id": r.channel_id, "message_ts": r.message_ts} for name, r in refs.items()}
