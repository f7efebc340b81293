"""One person's overview of requests (a chat's Home tab): what waits on their decision, and their own
requests with what they can still do with each. Plain values; a front end draws them, and every button it
draws goes back through the same calls as elsewhere (`decide`, `cancel`, `reveal_request`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.domain import RequestRecord
from bot.workflow.moves import Moves
from bot.workflow.ports import DirectoryUnavailable, RequestView
from bot.workflow.states import OPEN_STATUSES

log = logging.getLogger(__name__)

WAITING_SHOWN = 15
"""Requests waiting on one person shown at most (the rest: "and more", on the cards in the channel)."""
MINE_SHOWN = 10
"""A person's own requests shown, newest first."""


@dataclass(frozen=True)
class OwnRequest:
    """One of the person's own requests, with what they can still do with it."""

    view: RequestView
    reveal_until: datetime | None = None
    """Until when its one-time reveal can be used; None when there is nothing to reveal."""

    @property
    def cancellable(self) -> bool:
        return self.view.request.status in OPEN_STATUSES


@dataclass(frozen=True)
class HomeView:
    """Everything one person's overview shows, read in one go; nothing of anyone else's requests unless
    this person may decide on them."""

    user_id: str
    waiting: list[RequestView]
    """Pending requests of targets this person approves, not theirs, not decided by them; oldest first."""
    more_waiting: bool
    """More are waiting than `waiting` holds."""
    mine: list[OwnRequest]
    """Their last requests, newest first."""
    problem: str | None = None
    """Why some waiting requests may be missing (the directory did not say who approves), for the person."""


class Homes(Moves):
    """Reads one person's overview, and says whose overview a change of a request concerns."""

    async def home_for(self, user_id: str) -> HomeView:
        """What `user_id` sees: requests waiting on their decision and their own last ten. Which targets
        they approve is read at the browsing age (it only shapes the list: every click is decided on fresh
        membership). Raises StoreUnavailable."""
        approves: list[str] = []
        problem: str | None = None
        for name in self.targets:
            try:
                if await self.policy.may_approve(user_id, name, fresh=False):
                    approves.append(name)
            except DirectoryUnavailable as exc:
                log.warning("overview of %s: approvers of %s unknown: %s", user_id, name, exc)
                problem = str(exc)
        waiting = await self.store.awaiting_decision(user_id, approves, limit=WAITING_SHOWN + 1)
        mine = await self.store.list_requests(requester_id=user_id, limit=MINE_SHOWN)
        reveals = await self.store.revealable(user_id, [r.id for r in mine], self.clock.now())
        views = await asyncio.gather(*(self.view_of(r) for r in [*waiting[:WAITING_SHOWN], *mine]))
        shown = min(len(waiting), WAITING_SHOWN)
        return HomeView(
            user_id=user_id,
            waiting=list(views[:shown]),
            more_waiting=len(waiting) > WAITING_SHOWN,
            mine=[OwnRequest(v, reveals.get(v.request.id)) for v in views[shown:]],
            problem=problem,
        )

    async def people_involved(self, request: RequestRecord) -> frozenset[str]:
        """Whose overview shows this request: its requester and the approvers of its target (from the
        directory as lately read). Never raises for the directory; raises nothing else."""
        return frozenset({request.requester_id}) | await self.policy.approvers_of(request.target)
