"""One person's overview of requests (a chat's Home tab): what waits on their decision, the break-glass
runs that wait on their review, and their own requests with what they can still do with each. Plain
values; a front end draws them, and every button it draws goes back through the same calls as elsewhere
(`decide`, `review`, `cancel`, `reveal_request`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
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
REVIEWS_SHOWN = 10
"""Break-glass runs awaiting this person's review shown at most (the rest: on their cards)."""


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
    reviewing: list[RequestView] = field(default_factory=list)
    """Break-glass runs of targets this person approves, not theirs, that nobody has acknowledged or
    flagged yet; oldest first, at most `REVIEWS_SHOWN`."""


class Homes(Moves):
    """Reads one person's overview, and says whose overview a change of a request concerns."""

    async def home_for(self, user_id: str) -> HomeView:
        """What `user_id` sees: requests waiting on their decision, break-glass runs waiting on their
        review, and their own last ten. Which targets they approve is read at the browsing age (it only
        shapes the list: every click is decided on fresh membership). Raises StoreUnavailable."""
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
        reviewing = await self._awaiting_review_by(user_id, approves) if approves else []
        mine = await self.store.list_requests(requester_id=user_id, limit=MINE_SHOWN)
        reveals = await self.store.revealable(user_id, [r.id for r in mine], self.clock.now())
        shown = min(len(waiting), WAITING_SHOWN)
        views = await asyncio.gather(
            *(self.view_of(r) for r in [*waiting[:WAITING_SHOWN], *reviewing, *mine])
        )
        return HomeView(
            user_id=user_id,
            waiting=list(views[:shown]),
            more_waiting=len(waiting) > WAITING_SHOWN,
            mine=[OwnRequest(v, reveals.get(v.request.id)) for v in views[shown + len(reviewing) :]],
            problem=problem,
            reviewing=list(views[shown : shown + len(reviewing)]),
        )

    async def _awaiting_review_by(self, user_id: str, approves: list[str]) -> list[RequestRecord]:
        """Break-glass runs of `approves` that `user_id` did not run and nobody reviewed yet. Runs are
        few (one per person and target per cooldown), so the store's list of all of them is filtered
        here, as the review reminders read it."""
        awaiting = await self.store.awaiting_review(self.clock.now())
        targets = set(approves)
        mine = [r for r in awaiting if r.target in targets and r.requester_id != user_id]
        return mine[:REVIEWS_SHOWN]

    async def people_involved(self, request: RequestRecord) -> frozenset[str]:
        """Whose overview shows this request: its requester and the approvers of its target (from the
        directory as lately read). Never raises for the directory; raises nothing else."""
        return frozenset({request.requester_id}) | await self.policy.approvers_of(request.target)
