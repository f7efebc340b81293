"""Decisions on a request: approve, deny, cancel and expire, each checked against the policy."""

from __future__ import annotations

from bot.domain import Decision, RequestRecord, RequestStatus
from bot.logs import bind_request
from bot.metrics import REQUESTS
from bot.workflow import sentences as say
from bot.workflow.moves import Moves
from bot.workflow.ports import EventKind, WorkflowEvent
from bot.workflow.results import ActionResult
from bot.workflow.states import OPEN_STATUSES, Move

MAX_CANCEL_REASON_LENGTH = 1000


class Decisions(Moves):
    """Who may decide, and the one outcome of concurrent clicks on any replica."""

    async def _refusal_without_reading(self, request_id: int, user_id: str) -> ActionResult | None:
        """The policy's refusal from a request's parties, when this process has seen that request."""
        known = self._parties.get(request_id)
        if known is None:
            return None
        refusal = await self.policy.refuse_decision(user_id, known)
        if refusal is None:
            return None
        await self.store.add_audit(request_id, user_id, "decision_refused", {"why": refusal})
        return ActionResult(False, refusal)

    async def may_decide(self, request_id: int, user_id: str) -> str | None:
        """Why this user cannot approve or deny request `request_id` now (a sentence for them), or None
        when they may. A pre-check only: `decide` checks again. Raises StoreUnavailable."""
        request = await self.store.get_request(request_id)
        if request is None:
            return say.no_request(request_id)
        refusal = await self.policy.refuse_decision(user_id, request)
        if refusal is None and request.status not in OPEN_STATUSES:
            refusal = say.already(request_id, request.status)
        return refusal

    async def decide(
        self, request_id: int, user_id: str, decision: Decision, reason: str | None = None
    ) -> ActionResult:
        """`user_id` approves or denies (`decision`; a denial needs `reason`) request `request_id`.

        Every click is authorised here: the requester never decides their own request, only the
        target's approvers decide, once each, only while it is pending (a past expiry expires it now).
        Result: `ok` with the sentence for the approver ("Approved. Request #7 needs 1 more
        approval(s).", "... is running now." on the last one, whose execution starts at once in the
        background), or a refusal with its reason ("You have already decided on request #7.").
        Raises `DirectoryUnavailable` when the chat cannot say who the approvers are, and
        `StoreUnavailable` (nothing was recorded)."""
        bind_request(request_id)
        refused = await self._refusal_without_reading(request_id, user_id)
        if refused is not None:
            return refused
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, say.no_request(request_id))
        self._remember_parties(request)
        refusal = await self.policy.refuse_decision(user_id, request)
        if refusal:
            await self.store.add_audit(request_id, user_id, "decision_refused", {"why": refusal})
            return ActionResult(False, refusal, request)
        if request.status not in OPEN_STATUSES:
            return ActionResult(False, say.already(request_id, request.status), request)
        if request.expires_at <= self.clock.now():
            expired = await self.expire(request)
            return ActionResult(False, say.expired(request_id), expired or request)
        if decision == Decision.DENY:
            return await self._deny(request, user_id, reason)
        if request.status == RequestStatus.PREFLIGHT:
            return ActionResult(False, say.still_checking(request_id), request)
        # One transaction: the decision, its audit event and, on the last approval needed, the claim for
        # execution by this worker (pending -> executing): the cloud call follows at once.
        outcome = await self.store.approve(
            request_id,
            user_id,
            approvals_required=request.approvals_required,
            claimed_by=self.executor.settings.worker_id,
        )
        if not outcome.recorded:
            if outcome.status != RequestStatus.PENDING:
                latest = await self.store.get_request(request_id) or request
                return ActionResult(False, say.already(request_id, latest.status), latest)
            return ActionResult(False, say.already_decided(request_id), request)
        if outcome.claimed is None:
            left = max(request.approvals_required - outcome.approvals, 1)
            event = WorkflowEvent(EventKind.APPROVED_BY, user_id)
            await self._notify(
                request_id, "request_updated", lambda v: self.notifier.request_updated(v, event)
            )
            return ActionResult(True, say.approved_needs_more(request_id, left), request)
        # The metric keeps its "approved" series (dashboards count last approvals); no status has the name.
        REQUESTS.labels(request.target, "approved").inc()
        self.tasks.spawn(self.executor.run_claimed(outcome.claimed), name=f"execute-{request_id}")
        return ActionResult(True, say.approved_running(request_id), outcome.claimed)

    async def _deny(self, request: RequestRecord, user_id: str, reason: str | None) -> ActionResult:
        if not reason or not reason.strip():
            return ActionResult(False, say.DENIAL_NEEDS_REASON, request)
        outcome = say.denied_outcome(reason.strip())
        moved = await self._transition(request, Move.DENY, outcome=outcome)
        if moved is None:
            return ActionResult(False, say.already_settled(request.id), request)
        # Recorded only once the deny has won, so a losing deny never shows on a request that ran.
        await self.store.add_decision(request.id, user_id, Decision.DENY, reason.strip())
        await self._announce(moved, EventKind.DENIED, user_id, outcome)
        return ActionResult(True, say.denied(request.id), moved)

    async def cancel(self, request_id: int, user_id: str, reason: str | None = None) -> ActionResult:
        """Cancels an open request. Its requester may, without a reason; an approver of its target may,
        with a reason (recorded in the audit trail and shown on the card and to the requester).
        Result: `ok` with "Request #7 cancelled." and the record, or a refusal with its reason (no
        such request, not theirs to cancel, already settled). Raises `DirectoryUnavailable` and
        `StoreUnavailable` (nothing changed)."""
        bind_request(request_id)
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, say.no_request(request_id))
        refusal = await self.policy.refuse_cancel(user_id, request)
        if refusal:
            return ActionResult(False, refusal, request)
        if request.status not in OPEN_STATUSES:
            return ActionResult(False, say.no_longer_cancellable(request_id, request.status), request)
        outcome = say.CANCELLED_OUTCOME
        if user_id != request.requester_id:
            why = (reason or "").strip()
            if not why:
                return ActionResult(False, say.cancel_needs_reason(request_id), request)
            if len(why) > MAX_CANCEL_REASON_LENGTH:
                return ActionResult(False, say.reason_too_long(MAX_CANCEL_REASON_LENGTH), request)
            outcome = say.cancelled_by_approver_outcome(why)
        moved = await self._move(request, Move.CANCEL, EventKind.CANCELLED, actor=user_id, outcome=outcome)
        if moved is None:
            return ActionResult(False, say.settled_before_cancel(request_id), request)
        return ActionResult(True, say.cancelled(request_id), moved)

    async def expire(self, request: RequestRecord) -> RequestRecord | None:
        """Moves an open `request` to expired and tells everyone involved (the sweeper calls it when its
        time is up). Result: the expired record, or None when another move won first. Raises
        `StoreUnavailable`."""
        return await self._move(request, Move.EXPIRE, EventKind.EXPIRED, outcome=say.EXPIRED_OUTCOME)
