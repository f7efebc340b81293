"""The workflow's two ports to the chat front end as test doubles: a notifier that records every call
(and can fail or hold one, like a chat outage or a slow Slack) and a directory over a dict of user groups."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import (
    MessageRef,
)
from bot.workflow import (
    Delivered,
    DeliveredSecret,
    RequestView,
    SentMessages,
    WorkflowEvent,
)


@dataclass(frozen=True)
class Notice:
    """One call on the notifier, with the view it was drawn from."""

    kind: str
    view: RequestView
    event: WorkflowEvent | None = None
    secrets: tuple[DeliveredSecret, ...] = ()
    reveal_token: str | None = None
    reveal_expires_at: datetime | None = None
    told: tuple[str, ...] = ()
    """The people a break-glass notice names (its approvers)."""


def posted_at(channel_id: str, view: RequestView) -> MessageRef:
    """Where a fake post about this request went: unique per request."""
    return MessageRef(channel_id, f"{view.request.id}.000100")


class RecordingNotifier:
    """A Notifier that remembers every call; `fail=True` makes each call raise, like a chat outage.
    Posting calls answer with a made-up place per message (`posted_at`), as a front end does."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self.fail = False
        self.held: dict[str, asyncio.Event] = {}
        """A request_updated call with this event kind waits until its event is set (a slow Slack)."""

    def _record(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self.fail:
            raise RuntimeError("chat is down")

    async def request_submitted(self, view: RequestView) -> SentMessages:
        self._record(Notice("request_submitted", view))
        return {"dm": posted_at("DREQUESTER", view)}

    async def request_ready(self, view: RequestView) -> SentMessages:
        self._record(Notice("request_ready", view))
        return {"card": posted_at("CAPPROVERS", view)}

    async def request_updated(self, view: RequestView, event: WorkflowEvent) -> None:
        held = self.held.get(event.kind.value)
        if held is not None:
            await held.wait()
        self._record(Notice("request_updated", view, event))

    async def deliver_secret(
        self,
        view: RequestView,
        secrets: Sequence[DeliveredSecret],
        reveal_token: str,
        reveal_expires_at: datetime,
    ) -> Delivered:
        self._record(Notice("deliver_secret", view, None, tuple(secrets), reveal_token, reveal_expires_at))
        return Delivered({"reveal": posted_at("DREQUESTER", view)}, reached=True)

    async def retry_failed(
        self, load: Callable[[int], Awaitable[RequestView | None]]
    ) -> Mapping[int, SentMessages]:
        return {}

    async def remind_approvers(self, view: RequestView) -> None:
        self._record(Notice("remind_approvers", view))

    async def ensure_shown(self, view: RequestView) -> SentMessages:
        self._record(Notice("ensure_shown", view))
        return {}

    async def break_glass_started(self, view: RequestView, approvers: Sequence[str]) -> SentMessages:
        self._record(Notice("break_glass_started", view, told=tuple(approvers)))
        return {"card": posted_at("CAPPROVERS", view)}

    async def remind_review(self, view: RequestView, approvers: Sequence[str]) -> None:
        self._record(Notice("remind_review", view, told=tuple(approvers)))

    def of(self, request_id: int, kind: str | None = None) -> list[Notice]:
        return [
            n for n in self.notices if n.view.request.id == request_id and (kind is None or n.kind == kind)
        ]

    def kinds(self, request_id: int) -> list[str]:
        return [n.kind for n in self.of(request_id)]

    def events(self, request_id: int) -> list[str]:
        return [n.event.kind.value for n in self.of(request_id, "request_updated") if n.event]

    def delivered(self, request_id: int) -> Notice:
        found = self.of(request_id, "deliver_secret")
        assert len(found) == 1, f"expected one delivery, got {len(found)}"
        return found[0]


def group_id_of(handle: str) -> str:
    """The ID DictDirectory gives the group with this handle (`leads` -> `SLEADS`)."""
    return "S" + re.sub(r"[^A-Z0-9]", "", handle.upper())


class DictDirectory:
    """A Directory over a dict of handle -> members (IDs from `group_id_of`); `fail=True` makes every
    lookup raise. Never caches: each read is what the dict holds then, as Slack would answer."""

    def __init__(self, groups: Mapping[str, frozenset[str]] | None = None) -> None:
        self.groups = dict(groups or {})
        self.ids: dict[str, str] = {}
        """Handle -> ID where it is not `group_id_of(handle)` (a group renamed, another made)."""
        self.fail = False
        self.lookups: list[str] = []
        self.forgotten: list[str] = []

    def id_of(self, handle: str) -> str:
        return self.ids.get(handle) or group_id_of(handle)

    async def members_of(self, group_id: str, *, max_age_s: float) -> frozenset[str]:
        handle = next((h for h in self.groups if self.id_of(h) == group_id), group_id)
        self.lookups.append(handle)
        if self.fail:
            raise RuntimeError("usergroups.users.list failed")
        return self.groups.get(handle, frozenset())

    async def group_ids(self) -> dict[str, str]:
        if self.fail:
            raise RuntimeError("usergroups.list failed")
        return {handle: self.id_of(handle) for handle in self.groups}

    def forget(self, group_id: str) -> None:
        self.forgotten.append(group_id)
