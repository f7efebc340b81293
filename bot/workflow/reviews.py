"""The review of a break-glass run after the fact: acknowledge, flag (disputed), and reminders.

Only approvers of the target review (on fresh membership), never the requester of the run. Acknowledge
moves awaiting -> acknowledged; Flag, with a reason, moves awaiting or acknowledged -> disputed (final):
a second approver may still dispute what a first one acknowledged. Each is a compare-and-set.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain import RequestRecord, Review, ReviewState
from bot.logs import bind_request
from bot.metrics import BREAK_GLASS
from bot.workflow import sentences as say
from bot.workflow.breakglass import BreakGlassRuns
from bot.workflow.policy import MembershipUnknown
from bot.workflow.ports import EventKind, WorkflowEvent, notify_safely
from bot.workflow.results import ActionResult

log = logging.getLogger(__name__)

MAX_FLAG_REASON_LENGTH = 1000
REMIND_EVERY_AT_LEAST = timedelta(hours=1)
REMIND_EVERY_AT_MOST = timedelta(hours=24)
"""Reminders repeat every `review_within`, kept between these: never spam, never go quiet for days."""
DEFAULT_REVIEW_WITHIN = timedelta(hours=24)
"""For a break-glass request whose target no longer has break-glass configured."""

_FROM: dict[Review, frozenset[ReviewState]] = {
    Review.ACKNOWLEDGE: frozenset({ReviewState.AWAITING}),
    Review.FLAG: frozenset({ReviewState.AWAITING, ReviewState.ACKNOWLEDGED}),
}
_TO = {Review.ACKNOWLEDGE: ReviewState.ACKNOWLEDGED, Review.FLAG: ReviewState.DISPUTED}
_EVENT = {Review.ACKNOWLEDGE: EventKind.ACKNOWLEDGED, Review.FLAG: EventKind.FLAGGED}
_METRIC = {Review.ACKNOWLEDGE: "acknowledged", Review.FLAG: "flagged"}


def reminder_interval(review_within: timedelta) -> timedelta:
    return min(max(review_within, REMIND_EVERY_AT_LEAST), REMIND_EVERY_AT_MOST)


class Reviews(BreakGlassRuns):
    """Acknowledge and Flag on a break-glass run, and the sweeper's reminders."""

    async def _refuse_review(self, user_id: str, request: RequestRecord, review: Review) -> str | None:
        review_of = request.break_glass
        if review_of is None:
            return say.nothing_to_review(request.id)
        if user_id == request.requester_id:
            return say.own_break_glass(request.id)
        try:
            approver = await self.policy.may_approve(user_id, request.target)
        except MembershipUnknown as exc:
            return str(exc)
        if not approver:
            return say.only_approvers_review(request.target, request.id)
        if review_of.state is None:
            return say.not_run_yet(request.id)
        if review_of.state not in _FROM[review]:
            return _settled(request)
        return None

    async def may_review(self, request_id: int, user_id: str, review: Review) -> str | None:
        """Why this user cannot acknowledge or flag request `request_id` now (a sentence), or None.
        A pre-check (e.g. before a reason form opens); `review` checks again. Raises StoreUnavailable."""
        request = await self.store.get_request(request_id)
        if request is None:
            return say.no_request(request_id)
        return await self._refuse_review(user_id, request, review)

    async def review(
        self, request_id: int, user_id: str, review: Review, reason: str | None = None
    ) -> ActionResult:
        """Acknowledges or flags (with `reason`) a break-glass run; the card, the requester and the audit
        channel are told. Refusals are an ActionResult with ok False. Raises StoreUnavailable."""
        bind_request(request_id)
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, say.no_request(request_id))
        refusal = await self._refuse_review(user_id, request, review)
        if refusal is not None:
            await self.store.add_audit(request_id, user_id, "review_refused", {"why": refusal})
            return ActionResult(False, refusal, request)
        why = (reason or "").strip() or None
        if review == Review.FLAG:
            if why is None:
                return ActionResult(False, say.FLAG_NEEDS_REASON)
            if len(why) > MAX_FLAG_REASON_LENGTH:
                return ActionResult(False, say.reason_too_long(MAX_FLAG_REASON_LENGTH))
        else:
            why = None
        moved = await self.store.review_break_glass(
            request_id, user_id, _TO[review], from_states=_FROM[review], reason=why
        )
        if moved is None:
            latest = await self.store.get_request(request_id) or request
            return ActionResult(False, _settled(latest), latest)
        BREAK_GLASS.labels(request.target, _METRIC[review]).inc()
        event = WorkflowEvent(_EVENT[review], user_id, why)
        await self._notify(request_id, "request_updated", lambda v: self.notifier.request_updated(v, event))
        if review == Review.FLAG:
            log.warning("break-glass request #%d flagged by %s: disputed", request_id, user_id)
            return ActionResult(True, say.flagged(request_id), moved)
        return ActionResult(True, say.acknowledged(request_id), moved)

    async def remind_reviews(self, now: datetime) -> int:
        """Reminds the approvers and the audit channel of every break-glass run nobody reviewed within
        its target's `review_within`, again every `reminder_interval` while it stays unreviewed. One
        replica per reminder (compare-and-set). `now`: timezone-aware UTC. Returns how many it sent; a
        refused notice is not raised. Raises `StoreUnavailable`."""
        configured = [t.break_glass.review_within for t in self.targets.values() if t.break_glass]
        shortest = min([*configured, DEFAULT_REVIEW_WITHIN])
        sent = 0
        for request in await self.store.awaiting_review(now - shortest):
            config = self.targets.get(request.target)
            within = DEFAULT_REVIEW_WITHIN
            if config is not None and config.break_glass is not None:
                within = config.break_glass.review_within
            if request.created_at > now - within or request.break_glass is None:
                continue
            last = request.break_glass.reminded_at
            if last is not None and last > now - reminder_interval(within):
                continue
            if not await self.store.mark_review_reminded(request.id, last, now):
                continue
            sent += 1
            BREAK_GLASS.labels(request.target, "reminded").inc()
            overdue = int((now - request.created_at - within).total_seconds())
            await self.store.add_audit(request.id, "bot", "break_glass_reminded", {"overdue_s": overdue})
            view = await self.view_of(request)
            approvers = await self._reviewers(request)
            await notify_safely(self.notifier.remind_review(view, approvers), "remind_review")
        return sent


def _settled(request: RequestRecord) -> str:
    review = request.break_glass
    if review is None or review.state is None:
        return say.cannot_review_now(request.id)
    if review.state == ReviewState.DISPUTED:
        return say.already_flagged(request.id)
    return say.already_acknowledged(request.id)
