"""The words of the domain: a reset request, its servers, decisions and outcomes.

A leaf: it imports nothing of `bot`, so every layer (Slack front end, workflow, store, cloud client)
speaks these words without depending on each other. The store persists these records; the workflow
moves a request between the `RequestStatus` values (the allowed moves live in bot/workflow/states.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RequestStatus(StrEnum):
    """Every state a reset request can be in; the allowed moves live in bot/workflow/states.py."""

    PREFLIGHT = "preflight"
    PENDING = "pending"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    PARTLY_FAILED = "partly_failed"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        RequestStatus.SUCCEEDED,
        RequestStatus.PARTLY_FAILED,
        RequestStatus.FAILED,
        RequestStatus.DENIED,
        RequestStatus.CANCELLED,
        RequestStatus.EXPIRED,
    }
)


class PasswordMode(StrEnum):
    SHARED = "shared"
    PER_SERVER = "per_server"


class RebootMode(StrEnum):
    NONE = "none"
    SOFT = "soft"
    HARD = "hard"


class ServerPhase(StrEnum):
    """Where one server of a request stands; `SENT` means the cloud may or may not have acted."""

    WAITING = "waiting"
    SKIPPED = "skipped"
    SENT = "sent"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Decision(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


class ReviewState(StrEnum):
    """Where the after-the-fact review of a break-glass run stands."""

    AWAITING = "awaiting"
    """It ran (or is running) without approval; no approver has reviewed it yet."""
    ACKNOWLEDGED = "acknowledged"
    """An approver saw it and found it justified; another approver may still flag it."""
    DISPUTED = "disputed"
    """An approver flagged it, with a reason: final."""


class Review(StrEnum):
    """What an approver does with a break-glass run."""

    ACKNOWLEDGE = "acknowledge"
    FLAG = "flag"


@dataclass(frozen=True)
class BreakGlassReview:
    """A request run without approval (break-glass) and its review by the approvers."""

    state: ReviewState | None = None
    """None while it has not run yet (pre-flight); AWAITING once it runs."""
    reviewed_by: str | None = None
    reason: str | None = None
    """The flagger's reason (a dispute); None for an acknowledgement."""
    reviewed_at: datetime | None = None
    reminded_at: datetime | None = None


@dataclass(frozen=True)
class ServerFacts:
    """What the request knows of one server from submission and pre-flight: the same for the server
    about to be stored (`NewServer`) and the one read back (`ServerRecord`)."""

    server_id: str
    name: str
    os_type: str | None = None
    cloud_status: str | None = None
    locked: bool = False
    plugin_installed: bool | None = None
    preflight_error: str | None = None
    private_ip: str | None = None
    tags: tuple[str, ...] = ()
    """`key=value` strings, as the cloud lists them: what tells servers of one name apart."""
    namesakes: int = 0
    """Other servers of the target with the same name when the request was made."""

    @property
    def resettable(self) -> bool:
        return self.preflight_error is None


@dataclass(frozen=True)
class NewServer(ServerFacts):
    """A server as resolved at submission and pre-flight time, before the store holds it."""


@dataclass(frozen=True)
class NewRequest:
    target: str
    requester_id: str
    reason: str
    password_mode: PasswordMode
    reboot: RebootMode
    approvals_required: int
    expires_at: datetime
    status: RequestStatus = RequestStatus.PREFLIGHT
    submission_key: str | None = None
    """Names the one submission this request comes from (a front end's form id): the same key again
    creates nothing new. None: no such key (every create is a new request)."""
    break_glass: bool = False
    """Runs right after its pre-flight, without approval (an emergency); reviewed afterwards."""


@dataclass(frozen=True, kw_only=True)
class ServerRecord(ServerFacts):
    """A server of a stored request: its facts, then where its reset stands."""

    request_id: int
    phase: ServerPhase
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """Where one message a front end posted about a request lives, so it can edit it or reply in its
    thread later (Slack: the conversation ID and the message's `ts`)."""

    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class RequestRecord:
    id: int
    target: str
    requester_id: str
    reason: str
    password_mode: PasswordMode
    reboot: RebootMode
    approvals_required: int
    status: RequestStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    outcome_message: str | None = None
    claimed_by: str | None = None
    heartbeat_at: datetime | None = None
    reminded_at: datetime | None = None
    message_refs: dict[str, MessageRef] = field(default_factory=dict)
    """The messages front ends posted about this request, by the name they gave each ("card", "dm")."""
    submission_key: str | None = None
    break_glass: BreakGlassReview | None = None
    """Set for a break-glass request (run without approval): its review; None for a normal request."""


@dataclass(frozen=True)
class DecisionRecord:
    request_id: int
    user_id: str
    decision: Decision
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    id: int
    request_id: int | None
    actor: str
    event: str
    detail: dict[str, Any]
    created_at: datetime


class RevealOutcome(StrEnum):
    REVEALED = "revealed"
    """Shown to its owner, and erased."""
    LEASED = "leased"
    """Handed to one click to show; erased only once that click confirms it was shown."""
    BEING_SHOWN = "being_shown"
    """Another click holds the lease right now; nothing was handed out."""
    NOT_SHOWN = "not_shown"
    """The front end could not show it (its chat refused): the secret is kept and can be revealed again."""
    ALREADY_REVEALED = "already_revealed"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"
    WRONG_USER = "wrong_user"


@dataclass(frozen=True)
class RevealResult:
    """One attempt to reveal a request's password(s): what the store's lease gave the workflow, and what
    the workflow gives a front end. `secret` and `lease` only with LEASED (the store's answer to the
    workflow; the workflow's results never carry them); `expires_at` (UTC) is when the reveal window
    closes."""

    outcome: RevealOutcome
    request_id: int | None = None
    secret: str | None = field(default=None, repr=False)
    lease: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class OwedNotice:
    """A notice the chat refused for a reason that may pass, kept until it lands or no longer matters.

    Nothing secret: `route` says how the front end draws it again (from the request's latest state, or
    `text`, a sentence it already wrote for people: a thread note, a DM line, an audit line).
    """

    request_id: int
    unit: str
    """The front end's name for the notice (one per request: a later refusal of it replaces it)."""
    route: str
    text: str | None
    attempts: int
    next_at: datetime
    """Not tried again before then; a replica trying it moves it on first (see `NoticeLedger.take`)."""
    until: datetime
    """After then it no longer matters and is dropped."""
