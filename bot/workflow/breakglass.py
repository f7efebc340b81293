"""Break-glass: who may run a reset without approval, its cooldown, and the start right after pre-flight.

Opt-in per target (`break_glass` in the targets file). The controls: only the people it allows (checked
on fresh facts at every step), one use per requester and target per `cooldown` (claimed in the store
with the request, so two replicas cannot both let one through), everyone told before the reset starts,
and a review by the approvers afterwards (`reviews`).

Between the form and the run stands a confirmation: the checked submission waits in the store
(`hold_break_glass`) under a random key the front end's confirmation carries, and its submission takes it
back once (`take_break_glass`), on any replica, to be checked again in full. So a confirmation covers as
many servers as the target's `max_servers`, whatever a chat lets a view carry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.domain import NewRequest, NewServer, RequestRecord
from bot.metrics import BREAK_GLASS
from bot.store import HoldOutcome
from bot.store.records import CreatedRequest
from bot.workflow import sentences as say
from bot.workflow.cooldown import release_cooldown
from bot.workflow.moves import Moves
from bot.workflow.policy import MembershipUnknown
from bot.workflow.ports import notify_safely
from bot.workflow.results import CheckedSubmission, Submission
from bot.workflow.views import keep_message_refs

log = logging.getLogger(__name__)

BREAK_GLASS_HOLD_TTL = timedelta(minutes=15)
"""How long a break-glass confirmation can be confirmed. Slack documents no lifetime for an open modal
(it lasts as long as the person's client keeps it), so the bound is ours: long enough to read the
confirmation in an incident, short enough that a stale one is made again from the form (kept beneath it)
on fresh facts. Every check runs again at confirmation anyway; the bound is on how long the requester's
words wait in the database."""


class BreakGlassRefused(Exception):
    """A break-glass could not be recorded: the text says why (the cooldown, taken meanwhile) and that
    the normal approval path remains. Nothing was created."""


@dataclass(frozen=True)
class TakenBreakGlass:
    """What `take_break_glass` gives back: the submission to check again and record, or, with none, the
    sentence saying why (nothing was created). `used`: the confirmation was taken before (a double click,
    a replay), so a front end may answer as it answered the first."""

    submission: Submission | None
    refusal: str | None = None
    used: bool = False


class BreakGlassRuns(Moves):
    """Checks, records and starts break-glass requests (the review lives in `reviews`)."""

    async def break_glass_targets(self, user_id: str, targets: list[str]) -> list[str]:
        """Which of `targets` this user may break glass on, for a form (membership up to a minute old;
        the submission and its confirmation are checked again on fresh facts). A directory that cannot
        answer offers none: the normal path still works. Never raises."""
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

    async def hold_break_glass(self, checked: CheckedSubmission) -> str:
        """Keeps a checked break-glass submission (its servers by ID) for its requester's confirmation,
        for `BREAK_GLASS_HOLD_TTL`; returns the key the confirmation carries (32 URL-safe characters,
        unguessable, nothing secret behind it). Raises StoreUnavailable (nothing was kept)."""
        sub = checked.submission
        return await self.store.hold_break_glass(
            sub.requester_id,
            checked.target.name,
            [s.server_id for s in checked.servers],
            checked.reason,
            sub.password_mode,
            sub.reboot,
            expires_at=self.clock.now() + BREAK_GLASS_HOLD_TTL,
        )

    async def take_break_glass(
        self, key: str, user_id: str, *, submission_key: str | None = None
    ) -> TakenBreakGlass:
        """The submission `hold_break_glass` kept under `key`, for `user_id` only, once, before it expires,
        as a `Submission` with `break_glass` (and `submission_key`, so a replay finds its request): `check`
        it again, then `record` it. A key unknown, expired, used or someone else's gives a refusal and
        changes nothing (someone else's is audited, `break_glass_confirmation_refused`: only a forged
        submission carries it). Raises StoreUnavailable (nothing taken)."""
        taken = await self.store.take_break_glass_hold(key, user_id, self.clock.now())
        hold = taken.hold
        if hold is None:
            if taken.outcome == HoldOutcome.NOT_YOURS:  # only a forged submission gets here: kept on record
                log.warning("break-glass confirmation of someone else submitted by %s: refused", user_id)
                await self.store.add_audit(
                    None, user_id, "break_glass_confirmation_refused", {"why": "not_yours"}
                )
            refusal = {
                HoldOutcome.USED: say.CONFIRMATION_USED,
                HoldOutcome.EXPIRED: say.confirmation_expired(BREAK_GLASS_HOLD_TTL),
                HoldOutcome.NOT_YOURS: say.CONFIRMATION_NOT_YOURS,
            }.get(taken.outcome, say.CONFIRMATION_UNKNOWN)
            return TakenBreakGlass(None, refusal, used=taken.outcome == HoldOutcome.USED)
        submission = Submission(
            target=hold.target,
            requester_id=user_id,
            server_refs=list(hold.server_ids),
            reason=hold.reason,
            password_mode=hold.password_mode,
            reboot=hold.reboot,
            submission_key=submission_key,
            break_glass=True,
        )
        return TakenBreakGlass(submission)

    async def forget_expired_break_glass(self, now: datetime) -> None:
        """Drops the break-glass confirmations past their time as of `now` (the sweeper, on any replica).
        Raises StoreUnavailable."""
        dropped = await self.store.drop_expired_break_glass_holds(now)
        if dropped:
            log.debug("dropped %d expired break-glass confirmation(s)", dropped)

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
        tells only what was not shown yet, so a completed announcement is not repeated). `claimed`: the
        record whose execution this worker holds; `name`: the execution task's name. Returns once `run()`
        is spawned; raises nothing (the announcement's own failures are logged by its task)."""

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
