"""What crosses the store's boundary besides the domain's records: row changes and transaction results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain import RequestRecord, RequestStatus, RevealResult, ServerPhase

__all__ = [
    "ApprovalOutcome",
    "AuditEntry",
    "CreatedRequest",
    "FinishedExecution",
    "RevealResult",  # a domain word now (the workflow hands it to front ends); re-exported as before
    "ServerUpdate",
]


@dataclass(frozen=True)
class ServerUpdate:
    """A change to one server row; None leaves a field as it is."""

    server_id: str
    phase: ServerPhase | None = None
    error_code: str | None = None
    error_message: str | None = None
    os_type: str | None = None
    cloud_status: str | None = None
    locked: bool | None = None
    plugin_installed: bool | None = None
    preflight_error: str | None = None
    clear_preflight_error: bool = False


@dataclass(frozen=True)
class CreatedRequest:
    """What `Store.create_request_once` did: `created` is False when a request with the same
    submission key already existed (a replayed submission); `request` is then that earlier one."""

    request: RequestRecord
    created: bool


#: One audit row written in the same transaction as the change it describes: (actor, event, detail).
AuditEntry = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class ApprovalOutcome:
    """What `Store.approve` did, all in one transaction.

    `recorded`: the approval was stored (False: the request is not pending, or this user already decided).
    `status`: the request's status as read under its lock (None when the request does not exist).
    `approvals`: approvals counted after this one. `claimed`: the request as claimed for execution, when
    this approval was the last one needed (it moved pending -> executing in that transaction).
    """

    recorded: bool
    status: RequestStatus | None
    approvals: int = 0
    claimed: RequestRecord | None = None


@dataclass(frozen=True)
class FinishedExecution:
    """An execution moved to its final status; `reveal_token` when the sealed secret was armed."""

    request: RequestRecord
    reveal_token: str | None = None
