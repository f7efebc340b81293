"""The messenger-neutral request workflow: submit, pre-flight, decide, cancel, expire, status.

Front ends call these with plain values and get plain results back; every state change goes
through the store's compare-and-set, so concurrent clicks on several replicas resolve to one outcome.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.domain import RequestRecord, RevealOutcome, RevealResult
from bot.logs import bind_request
from bot.workflow import sentences as say
from bot.workflow.decisions import Decisions
from bot.workflow.home import Homes
from bot.workflow.policy import MembershipUnknown
from bot.workflow.ports import NotShown, ShowSecrets
from bot.workflow.results import ActionResult, Field, Submission, SubmitResult
from bot.workflow.reviews import Reviews
from bot.workflow.sealed import SealedPasswords, delivered_secrets
from bot.workflow.submission import MAX_REASON_LENGTH, Submissions

REVEAL_LEASE = timedelta(seconds=30)
"""How long one click holds a reveal while its chat shows it; a holder that died frees it after this."""
REVEAL_SHOW_BUDGET_S = 20.0
"""Showing gets at most this long, well inside the lease, so a lapsed lease never shows it twice."""

log = logging.getLogger(__name__)

__all__ = [
    "MAX_REASON_LENGTH",
    "ActionResult",
    "Field",
    "RevealResult",
    "Submission",
    "SubmitResult",
    "Workflow",
]


class Workflow(Reviews, Submissions, Decisions, Homes):
    """The front end's only door. One instance per process; all state lives in the store, so replicas
    share the work. Its parts live in `submission`, `preflight`, `decisions`, `home`, `moves`,
    `breakglass` and `reviews`. Every public method is in this map (tests/test_facades.py
    checks it), each written as a call:

    Before a form: `requestable_targets(user_id) -> list[str]`, `reason_hint(targets) -> str | None`,
    `search_servers(user_id, target, query, render, limit=, max_wait_s=) -> list[T]` (raises
    InventoryUnavailable) and `search_note(user_id, target) -> str | None`.
    Submitting: `submit(Submission) -> SubmitResult` (the request, or errors per `Field`; pre-flight then
    runs in the background), or `check(Submission) -> (CheckedSubmission | None, errors)` then
    `record(CheckedSubmission) -> RequestRecord` when the front end must answer in between;
    `request_for_submission(key) -> RequestRecord | None` finds a replayed submission's request.
    Deciding: `may_decide(request_id, user_id) -> str | None` (a pre-check), `decide(request_id, user_id,
    Decision, reason) -> ActionResult`, `cancel(request_id, user_id, reason) -> ActionResult`.
    Reading: `view(request_id) -> RequestView | None`, `view_of(RequestRecord) -> RequestView` (of a
    record already read), `status_for(request_id, user_id) -> ActionResult`, `history_for(user_id,
    limit) -> list[RequestRecord]`, `target_names() -> list[str]`.
    The chat's news: `group_changed(group_id)` when a user group's members change.
    Revealing: `reveal(token, user_id, show) -> RevealResult` (erased only once `show` returned), or
    `reveal_request(request_id, user_id, show) -> RevealResult` where a front end knows the request,
    not the token.
    One person's overview: `home_for(user_id) -> HomeView`; `people_involved(RequestRecord) ->
    frozenset[str]` says whose overview a change concerns.
    Break-glass: `break_glass_targets(user_id, targets) -> list[str]` (for a form), a `Submission` with
    `break_glass` (checked by `refuse_break_glass(user_id, target) -> str | None`), then its
    confirmation: `hold_break_glass(CheckedSubmission) -> key` keeps the checked submission in the store
    for the confirmation to carry only `key`, and `take_break_glass(key, user_id) -> TakenBreakGlass`
    gives it back once, to its owner, before `BREAK_GLASS_HOLD_TTL` ran out, for `check` again and
    `record` (which raises BreakGlassRefused when its cooldown was taken meanwhile); after the run
    `may_review(request_id, user_id, Review) -> str | None` / `review(request_id, user_id, Review,
    reason) -> ActionResult`.
    The sweeper's side (time and recovery, not a front end's): `expire(RequestRecord) -> RequestRecord |
    None`, `preflight(request_id)`, `resume_preflight(RequestRecord)` for a pre-flight a stopped process
    left, `run_break_glass(claimed, run, name=)` for a break-glass execution taken over,
    `remind_reviews(now) -> int` and `forget_expired_break_glass(now)`.

    A refusal is an `ActionResult` with `ok` False and a sentence for the person, never an exception.
    Every call that reads or writes the store raises `StoreUnavailable` when the database does not
    answer (nothing changed), and `SecretUnreadable` from `reveal` when no configured key opens the
    sealed secret.
    """

    async def status_for(self, request_id: int, user_id: str) -> ActionResult:
        """Where request `request_id` stands, for its requester or one of its target's approvers:
        `ok` with "Request #7 is waiting for approval." and the record, or a refusal (no such request,
        not theirs to see, the directory unreadable). Raises `StoreUnavailable`."""
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, say.no_request(request_id))
        try:
            visible = user_id == request.requester_id or await self.policy.may_approve(
                user_id, request.target, fresh=False
            )
        except MembershipUnknown as exc:
            return ActionResult(False, str(exc))
        if not visible:
            return ActionResult(False, say.not_yours_to_see(request_id))
        return ActionResult(True, say.status_is(request.id, request.status), request)

    def target_names(self) -> list[str]:
        """Every configured target, in config order (what a form offers when who may request what is
        not known in time; the submission checks it again). Never raises."""
        return list(self.targets)

    def group_changed(self, group_id: str) -> None:
        """The chat says user group `group_id` (an `S...` id) changed: decisions resting on it read its
        members again. Never raises."""
        self.policy.group_changed(group_id)

    async def history_for(self, user_id: str, limit: int = 10) -> list[RequestRecord]:
        """The last `limit` requests `user_id` made, newest first. Raises `StoreUnavailable`."""
        return await self.store.list_requests(requester_id=user_id, limit=limit)

    async def reveal(self, token: str, user_id: str, show: ShowSecrets) -> RevealResult:
        """Shows a request's password(s) once to its requester through `show`, then erases them.

        The sealed copy is erased only after `show` returned: when it raises (the chat refused to open
        the view), the reveal stays usable within its window and the result is NOT_SHOWN, so a refusal
        never loses a password. One click at a time holds the secret (a lease in the store): a
        concurrent click gets BEING_SHOWN. The audit trail has `reveal_revealed` for a reveal and
        `reveal_not_shown` (with the front end's error code) for an attempt. The result never carries
        the secret; `expires_at` tells until when it may be revealed.
        """
        now = self.clock.now()
        taken = await self.store.lease_reveal(token, user_id, now, now + REVEAL_LEASE)
        if taken.outcome != RevealOutcome.LEASED or taken.request_id is None or taken.lease is None:
            await self.store.add_audit(taken.request_id, user_id, f"reveal_{taken.outcome.value}")
            return RevealResult(taken.outcome, taken.request_id, expires_at=taken.expires_at)
        request_id, lease = taken.request_id, taken.lease
        bind_request(request_id)
        try:
            passwords = SealedPasswords.loads(taken.secret or "")
            servers = await self.store.servers(request_id)
            await asyncio.wait_for(
                show(request_id, delivered_secrets(passwords, servers)), REVEAL_SHOW_BUDGET_S
            )
        except Exception as exc:
            reason = exc.reason if isinstance(exc, NotShown) else type(exc).__name__
            log.warning(
                "reveal of #%d by %s was not shown (%s); it stays usable", request_id, user_id, reason
            )
            await self.store.release_reveal(token, lease)
            await self.store.add_audit(request_id, user_id, "reveal_not_shown", {"error": reason})
            return RevealResult(RevealOutcome.NOT_SHOWN, request_id, expires_at=taken.expires_at)
        if not await self.store.confirm_reveal(token, lease, self.clock.now()):
            log.error(
                "reveal of #%d was shown after its lease lapsed; the copy was left to its window", request_id
            )
        await self.store.add_audit(request_id, user_id, "reveal_revealed")
        return RevealResult(RevealOutcome.REVEALED, request_id, expires_at=taken.expires_at)

    async def reveal_request(self, request_id: int, user_id: str, show: ShowSecrets) -> RevealResult:
        """`reveal` of request `request_id`'s password(s), for a front end that shows the request rather
        than the token (an overview): the same checks (its owner, once, within its window), the same
        erasing only once shown. NOT_FOUND when the request has nothing to reveal. Raises
        `StoreUnavailable` and `SecretUnreadable` as `reveal` does."""
        token = await self.store.reveal_token_of(request_id)
        if token is None:
            await self.store.add_audit(request_id, user_id, "reveal_not_found")
            return RevealResult(RevealOutcome.NOT_FOUND, request_id)
        return await self.reveal(token, user_id, show)
