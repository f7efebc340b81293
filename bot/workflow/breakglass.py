"""Break-glass: who may run a reset without approval, its cooldown, and the start right after pre-flight.

Opt-in per target (`break_glass` in the targets file). The controls: only the people it allows (checked
on fresh facts at every step), one use per requester and target per `cooldown` (claimed in the store
with the request, so two replicas cannot both let one through), everyone told before the reset starts,
and a review by the approvers afterwards (`reviews`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from bot.domain import NewRequest, NewServer, RequestRecord
from bot.metrics import BREAK_GLASS
from bot.store.records import CreatedRequest
from bot.workflow import sentences as say
from bot.workflow.cooldown import release_cooldown
from bot.workflow.moves import Moves
from bot.workflow.policy import MembershipUnknown
from bot.workflow.ports import notify_safely
from bot.workflow.views import keep_message_refs

log = logging.getLogger(__name__)


class BreakGlassRefused(Exception):
    """A break-glass could not be recorded: the text says why (the cooldown, taken meanwhile) and that
    the normal approval path remains. Nothing was created."""


class BreakGlassRuns(Moves):
    """Checks, records and starts break-glass requests (the review lives in `reviews`)."""

    async def break_glass_targets(self, user_id: str, targets: list[str]) -> list[str]:
        """Which of `targets` this user may break glass on, for a form (membership up to a minute old;
        the submission and its confirmation are checked again on fresh facts). A directory that cannot
        answer offers none: the normal path still works."""
        allowed = []
        for name in targets:
            try:
                if await self.policy.may_break_glass(user_id, name, fresh=False):
                    allowed.append(name)
            except Exception as exc:
                log.warning("break-glass for %s on %s not offered: %s", user_id, name, exc)
        return allowed

    async def refuse_break_glass(self, user_id: str, target: str) -> str | None:
        """Why this user may not break glass on `target` now (a sentence for them), or None. On fresh
        membership; the cooldown here is a pre-check (recording claims it). Raises StoreUnavailable."""
        config = self.targets.get(target)
        if config is None or config.break_glass is None:
            return say.break_glass_off(target)
        try:
            allowed = await self.policy.may_break_glass(user_id, target)
        except MembershipUnknown as exc:
            return str(exc)
        if not allowed:
            return say.may_not_break_glass(target)
        last = await self.store.last_break_glass(user_id, target)
        if last is not None and last + config.break_glass.cooldown > self.clock.now():
            BREAK_GLASS.labels(target, "refused").inc()
            return say.cooldown(target, last, config.break_glass.cooldown)
        return None

    async def _create_break_glass(self, new: NewRequest, servers: list[NewServer]) -> CreatedRequest:
        """Creates the request and claims the cooldown in one transaction; BreakGlassRefused when the
        cooldown was taken meanwhile (another replica, a second tab)."""
        config = self.targets[new.target].break_glass
        assert config is not None  # checked before: only allowed submissions get here
        made = await self.store.create_break_glass_request(new, servers, cooldown=config.cooldown)
        if made.request is None:
            BREAK_GLASS.labels(new.target, "refused").inc()
            last = made.last_used_at or self.clock.now()
            raise BreakGlassRefused(say.cooldown(new.target, last, config.cooldown))
        return CreatedRequest(made.request, created=made.created)

    async def _start_break_glass(self, request: RequestRecord) -> None:
        """Pre-flight passed: runs at once, no approval asked. The card (marked), every approver's DM
        and the audit channel go out first, within `ExecutionSettings.announce_wait_s`."""
        claimed = await self.store.start_break_glass(request.id, self.executor.settings.worker_id)
        if claimed is None:
            return  # cancelled meanwhile, or another replica started it
        BREAK_GLASS.labels(request.target, "run").inc()
        log.info(
            "break-glass: request #%d of %s on %s runs without approval",
            request.id,
            request.requester_id,
            request.target,
        )
        await self.run_break_glass(
            claimed, partial(self.executor.run_claimed, claimed), name=f"execute-{request.id}"
        )

    async def run_break_glass(
        self, claimed: RequestRecord, run: Callable[[], Coroutine[Any, Any, None]], *, name: str
    ) -> None:
        """Announces a break-glass this worker holds (the card, every approver's DM, the requester's status,
        the audit channel), waits up to `announce_wait_s` for it, then spawns `run()` (its execution).
        The start calls it, and so does recovery when it takes over a break-glass execution: a process
        that stopped before the announcement went out must not leave the approvers untold (the notifier
        tells only what was not shown yet, so a completed announcement is not repeated)."""

        async def announce() -> None:
            approvers = await self._reviewers(claimed)
            view = await self.view_of(claimed)
            sent = await notify_safely(
                self.notifier.break_glass_started(view, approvers), "break_glass_started"
            )
            await keep_message_refs(self.store, claimed.id, sent)

        announcing = self.tasks.spawn(announce(), name=f"break-glass-{claimed.id}")
        if announcing is not None:
            await asyncio.wait({announcing}, timeout=self.executor.settings.announce_wait_s)
        self.tasks.spawn(run(), name=name)

    async def _reviewers(self, request: RequestRecord) -> list[str]:
        """The approvers of the request's target now, but its requester: who is told and may review."""
        return sorted(await self.policy.approvers_of(request.target) - {request.requester_id})

    async def _release_break_glass(self, request: RequestRecord) -> None:
        """A break-glass whose pre-flight failed reset nothing: its cooldown is freed."""
        await release_cooldown(self.store, request, "pre-flight")
