"""The periodic chores that keep no request stuck: expiry, reminders, reveal erasure, expired break-glass
confirmations, recovery."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.domain import RequestRecord, RequestStatus
from bot.workflow.execution import Executor
from bot.workflow.ports import notify_safely
from bot.workflow.service import Workflow
from bot.workflow.views import keep_message_refs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    interval_s: float = 15.0
    shortest_reminder: timedelta = timedelta(0)
    """Only requests at least this old are read for reminders; each target's `reminder_after` decides."""
    preflight_stuck_after: timedelta = timedelta(minutes=2)
    show_again_after: timedelta = timedelta(minutes=1)
    """A pending request not shown to its approvers by then (chat outage) is shown again."""


class Sweeper:
    """Each pass is safe to run on every replica at once: every change is a compare-and-set."""

    def __init__(self, workflow: Workflow, executor: Executor, settings: SweepSettings) -> None:
        self.workflow = workflow
        self.executor = executor
        self.settings = settings

    async def run_forever(self) -> None:
        while True:
            try:
                await self.sweep(self.workflow.clock.now())
            except Exception as exc:  # a database blip must not end the loop
                log.error("sweep failed, retrying in %.0fs: %s", self.settings.interval_s, exc)
            await asyncio.sleep(self.settings.interval_s)

    async def sweep(self, now: datetime) -> None:
        """One pass as of `now` (the workflow's clock in `run_forever`; tests pass the time they mean).
        Raises StoreUnavailable when the database does not answer (the loop tries again)."""
        store = self.workflow.store
        for request in await store.due_for_expiry(now):
            await self.workflow.expire(request)
        for request in await store.due_for_reminder(now - self.settings.shortest_reminder):
            target = self.workflow.targets.get(request.target)
            remind_after = target.reminder_after if target else None
            if remind_after is None or request.created_at > now - remind_after:
                continue
            if await store.mark_reminded(request.id, now):
                view = await self.workflow.view_of(request)
                await notify_safely(self.workflow.notifier.remind_approvers(view), "remind_approvers")
        await self.workflow.remind_reviews(now)
        await self.workflow.forget_expired_break_glass(now)
        await self.show_unseen(now - self.settings.show_again_after, now)
        reposted = await notify_safely(
            self.workflow.notifier.retry_failed(self.workflow.view), "retry_failed"
        )
        for request_id, sent in (reposted or {}).items():
            await keep_message_refs(self.workflow.store, request_id, sent)
        self.workflow.inventory.refresh_stale()
        erased = await store.erase_expired_reveals(now)
        if erased:
            log.info("erased %d unrevealed password(s) past their time to live", erased)
        await self.recover(now)

    async def show_unseen(self, pending_since: datetime, now: datetime) -> None:
        """A card or DM that could not be posted (the chat was down) must not leave a request invisible
        until it expires: the front end posts what is missing, and skips what it already showed. One
        replica per request and pass (compare-and-set), so two sweeping at once never post it twice."""
        for request in await self._take_stalled(RequestStatus.PENDING, pending_since, now):
            view = await self.workflow.view_of(request)
            sent = await notify_safely(self.workflow.notifier.ensure_shown(view), "ensure_shown")
            await keep_message_refs(self.workflow.store, request.id, sent)

    async def _take_stalled(
        self, status: RequestStatus, stalled_before: datetime, now: datetime
    ) -> list[RequestRecord]:
        """Requests in `status` that have not moved since `stalled_before`, each one taken by this
        replica alone (compare-and-set), so two replicas sweeping at once never act on it twice."""
        store = self.workflow.store
        taken: list[RequestRecord] = []
        for request in await store.requests_in({status}):
            if request.updated_at <= stalled_before:
                won = await store.take_over_stalled(request.id, status, stalled_before, now)
                if won is not None:
                    taken.append(won)
        return taken

    async def recover(self, now: datetime) -> None:
        """Picks up what a stopped process left as of `now`: executing without heartbeat, preflight."""
        store = self.workflow.store
        tasks = self.workflow.tasks
        stale_before = now - self.executor.settings.lease
        for request in await store.stale_executions(stale_before):
            taken = await store.take_over_execution(
                request.id, stale_before, self.executor.settings.worker_id, now
            )
            if taken is None:
                continue
            resume = partial(self.executor.resume, taken, previous_worker=request.claimed_by)
            if taken.break_glass is None:
                tasks.spawn(resume(), name=f"resume-{request.id}")
                continue
            # The stopped process may have claimed it without announcing it: approvers are told first,
            # as at the start (the notifier skips an announcement that went out).
            tasks.spawn(
                self.workflow.run_break_glass(taken, resume, name=f"resume-{request.id}"),
                name=f"break-glass-resume-{request.id}",
            )
        # One replica per stuck pre-flight, and once per stall: the requester's DM is sent once.
        stuck_before = now - self.settings.preflight_stuck_after
        for request in await self._take_stalled(RequestStatus.PREFLIGHT, stuck_before, now):
            tasks.spawn(self.workflow.resume_preflight(request), name=f"preflight-{request.id}")
