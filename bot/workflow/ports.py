"""What the workflow needs from a chat front end, as protocols, so it never imports one."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from bot.domain import DecisionRecord, MessageRef, OwedNotice, RequestRecord, ServerPhase, ServerRecord
from bot.metrics import NOTIFICATION_FAILURES

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RequestView:
    """Everything a front end needs to draw one request, read in one go from the store."""

    request: RequestRecord
    servers: list[ServerRecord]
    decisions: list[DecisionRecord]
    approvers_channel: str | None = None

    @property
    def approvals(self) -> list[DecisionRecord]:
        return [d for d in self.decisions if d.decision == "approve"]

    @property
    def denial(self) -> DecisionRecord | None:
        return next((d for d in self.decisions if d.decision == "deny"), None)

    @property
    def resettable(self) -> list[ServerRecord]:
        return [s for s in self.servers if s.resettable]

    @property
    def not_resettable(self) -> list[ServerRecord]:
        return [s for s in self.servers if not s.resettable]

    def servers_in(self, *phases: ServerPhase) -> list[ServerRecord]:
        return [s for s in self.servers if s.phase in phases]


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    READY = "ready"
    APPROVED_BY = "approved_by"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    EXECUTING = "executing"
    FINISHED = "finished"
    PREFLIGHT_FAILED = "preflight_failed"
    RECOVERED = "recovered"
    ACKNOWLEDGED = "acknowledged"
    """An approver acknowledged a break-glass run."""
    FLAGGED = "flagged"
    """An approver flagged a break-glass run (the note is their reason): the request is disputed."""


@dataclass(frozen=True)
class WorkflowEvent:
    kind: EventKind
    actor: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DeliveredSecret:
    """One password and the servers it opens; its repr never shows the password."""

    servers: tuple[str, ...]
    password: str = field(repr=False)
    applied: bool = True
    """False when the cloud may or may not have taken it (the bot stopped mid-call)."""


class NotShown(Exception):
    """A front end could not show a person what it was given (its chat refused the call).

    `reason` is a short code safe for the audit trail and logs (Slack's error code, say), never a secret.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ShowSecrets = Callable[[int, Sequence[DeliveredSecret]], Awaitable[None]]
"""Shows a request's passwords to the person revealing them; raises (NotShown) when it could not."""


SentMessages = Mapping[str, MessageRef]
"""What a notice posted, by the name the front end gives each message ("card", "dm"): the workflow
keeps them with the request (`RequestRecord.message_refs`), so a later notice can edit them."""


@dataclass(frozen=True)
class Delivered:
    """What a password delivery posted (`sent`) and whether anything reached the requester."""

    sent: SentMessages
    reached: bool


class Notifier(Protocol):
    """Tells people what happened; a front end (Slack today) implements it. A method that posts new
    messages returns where they went, and returns what it posted even when a later step of it failed
    (a ref lost would have the message posted again)."""

    async def request_submitted(self, view: RequestView) -> SentMessages: ...

    async def request_ready(self, view: RequestView) -> SentMessages: ...

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None: ...

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> Delivered:
        """Hands the password(s) to the requester; `reached` False when nothing reached them (the front
        end keeps offering the one-time reveal while it lives, and says so on the request)."""
        ...

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        """Sends again the notices that failed and may still land, drawn from `load(request_id)`;
        returns, per request, the messages it posted anew (the workflow keeps where they went)."""
        ...

    async def remind_approvers(self, view: RequestView) -> None: ...

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        """A break-glass request passed its pre-flight and runs now, without approval: shows its card
        (marked break-glass, with the review buttons) where approvers look, tells each of `approvers`
        (user IDs) directly, and the audit channel. Returns what it posted. Also called when recovery
        takes over a break-glass run (its process may have stopped before announcing it): an
        announcement that already went out is not sent again."""
        ...

    async def remind_review(self, view: RequestView, approvers: Sequence[str]) -> None:
        """A break-glass run nobody has reviewed within its target's `review_within`: reminds
        `approvers` and the audit channel."""
        ...

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        """Shows an open request to whoever has not seen it yet, because an earlier attempt failed or
        the process stopped first: the requester's "received" message (`request_submitted`) when none
        was sent, and, once the request is pending, its approval card (`request_ready`) when none was
        posted. Does nothing for what is already shown. The sweeper calls it for requests pending a
        while and before it runs a stuck pre-flight again."""
        ...


class NoticeLedger(Protocol):
    """Where a front end keeps the notices it owes, so a restart or another replica sends them. Each is
    sent again by one replica at a time: `take_notice` is a compare-and-set on `next_at`.

    A workflow port that the store implements (`Store`'s `notices` part) and the wiring hands over:
    `bot/app.py` gives the `Store` to the `SlackNotifier` as its ledger, so the front end owes, claims and
    settles notices in the database while importing only this type, never the store. It mirrors the
    `Notifier`, the port a front end implements for the workflow. The store's calls raise
    `StoreUnavailable` when the database does not answer."""

    async def owe_notice(self, notice: OwedNotice) -> None:
        """Keeps `notice`, replacing the one of the same request and unit (keeping its earlier `until`)."""
        ...

    async def notices_due(self, now: datetime, *, limit: int = 100) -> list[OwedNotice]:
        """Notices whose `next_at` has come, oldest first."""
        ...

    async def take_notice(self, notice: OwedNotice, hold_until: datetime) -> bool:
        """Moves `notice.next_at` to `hold_until` if nobody moved it since it was read: True for the one
        replica that may send it now."""
        ...

    async def settle_notice(self, request_id: int, unit: str) -> None:
        """The notice landed, or no longer matters: forgotten."""
        ...

    async def claim_post(self, request_id: int, what: str, now: datetime, until: datetime) -> bool:
        """True for the one replica that may post the request's message `what` (its approval card) now;
        it holds the claim until `until`, long enough for the message's ref to be kept with the request, so
        a replica that also saw it missing does not post it twice."""
        ...

    async def release_post(self, request_id: int, what: str) -> None:
        """Gives a claim back (the post failed): the next attempt, here or elsewhere, may post."""
        ...

    async def reveal_offer_of(self, request_id: int, now: datetime) -> tuple[str, datetime] | None:
        """The token and end of a request's one-time reveal while it can still be revealed, for offering
        it again; None when it was revealed, erased or has expired."""
        ...


class DirectoryUnavailable(Exception):
    """The directory could not answer (the chat refuses the bot: a missing scope, a revoked token).

    The text is for people and the operator: what is wrong and who must fix it. The policy raises it
    instead of answering "not allowed" when it could not check a group that might have allowed it.
    """


class Directory(Protocol):
    """The workspace's user groups, as the chat platform knows them now."""

    async def members_of(self, group_id: str, *, max_age_s: float) -> frozenset[str]:
        """Member user IDs of the group `group_id` (`S…`), read at most `max_age_s` seconds ago.

        Raises whatever the platform raised when it could not answer (the policy then refuses)."""
        ...

    async def group_ids(self) -> Mapping[str, str]:
        """Every enabled user group of the workspace: handle (without the @) -> group ID."""
        ...

    def forget(self, group_id: str) -> None:
        """Drops what is known of a group, so its next read asks the platform (it reported a change)."""
        ...


async def notify_safely(call: Awaitable[T], what: str) -> T | None:
    """A chat outage must not undo a state change that is already in the store: the notice's result,
    or None when it failed (logged and counted)."""
    try:
        return await call
    except Exception as exc:
        NOTIFICATION_FAILURES.labels(what).inc()
        log.error("could not send %s: %s", what, exc)
        return None
