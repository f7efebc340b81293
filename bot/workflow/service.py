"""The messenger-neutral request workflow: submit, pre-flight, decide, cancel, expire, status.

Front ends call these with plain values and get plain results back; every state change goes
through the store's compare-and-set, so concurrent clicks on several replicas resolve to one outcome.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from bot.config import Target
from bot.domain import (
    Decision,
    NewRequest,
    NewServer,
    PasswordMode,
    RebootMode,
    RequestRecord,
    RequestStatus,
    RevealOutcome,
)
from bot.ecs import EcsClient, EcsError, EcsNotFound, ResetOutcome
from bot.logs import bind_request
from bot.metrics import REQUESTS
from bot.passwords import generate_password
from bot.store import Store
from bot.store.records import RevealResult, ServerUpdate
from bot.workflow.execution import Executor, SealedPasswords, delivered_secrets, utcnow
from bot.workflow.inventory import Inventory, InventoryUnavailable, ServerChoice
from bot.workflow.policy import Policy
from bot.workflow.ports import (
    EventKind,
    Notifier,
    NotShown,
    RequestView,
    ShowSecrets,
    WorkflowEvent,
    notify_safely,
)
from bot.workflow.states import OPEN_STATUSES, STATUS_WORDS, TRANSITIONS, Move
from bot.workflow.tasks import TaskKeeper
from bot.workflow.views import load_view

log = logging.getLogger(__name__)

_PARTIES_KEPT = 4096  # requests whose requester and target this process remembers

MAX_REASON_LENGTH = 1000

T = TypeVar("T")

REVEAL_LEASE = timedelta(seconds=30)
"""How long one click holds a reveal while its chat shows it; a holder that died frees it after this."""
REVEAL_SHOW_BUDGET_S = 20.0
"""Showing gets at most this long, well inside the lease, so a lapsed lease never shows it twice."""


class Field(StrEnum):
    """The parts of a submission an error can point at; front ends map them to their own inputs."""

    TARGET = "target"
    SERVERS = "servers"
    REASON = "reason"
    PASSWORD_MODE = "password_mode"
    REBOOT = "reboot"


@dataclass(frozen=True)
class Submission:
    target: str
    requester_id: str
    server_refs: Sequence[str]
    reason: str
    password_mode: PasswordMode = PasswordMode.SHARED
    reboot: RebootMode = RebootMode.NONE
    tag: str | None = None
    submission_key: str | None = None
    """The front end's id of the form this came from (unique per form shown): a replay of the same
    submission returns the request it already made instead of making a second one."""


@dataclass(frozen=True)
class SubmitResult:
    request: RequestRecord | None
    errors: dict[Field, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission that passed every check, with its servers resolved: what `record` writes."""

    submission: Submission
    target: Target
    reason: str
    servers: list[NewServer]


@dataclass(frozen=True)
class ActionResult:
    """The answer to one person's click: whether it took effect and a sentence to show them."""

    ok: bool
    message: str
    request: RequestRecord | None = None


class Workflow:
    """One instance per process; all state lives in the store, so replicas can share the work."""

    def __init__(
        self,
        *,
        store: Store,
        targets: Mapping[str, Target],
        clients: Mapping[str, EcsClient],
        inventory: Inventory,
        policy: Policy,
        notifier: Notifier,
        tasks: TaskKeeper,
        executor: Executor,
    ) -> None:
        self.store = store
        self.targets = targets
        self.clients = clients
        self.inventory = inventory
        self.policy = policy
        self.notifier = notifier
        self.tasks = tasks
        self.executor = executor
        self._notify_locks: dict[int, asyncio.Lock] = {}
        # Who asked and for which target never change once a request exists: a click the policy refuses
        # on those alone (one's own request, not an approver) needs no read of the store.
        self._parties: OrderedDict[int, RequestRecord] = OrderedDict()

    def _remember_parties(self, request: RequestRecord) -> None:
        self._parties[request.id] = request
        self._parties.move_to_end(request.id)
        while len(self._parties) > _PARTIES_KEPT:
            self._parties.popitem(last=False)

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

    # -- questions a front end asks before drawing a form ---------------------------------------

    async def requestable_targets(self, user_id: str) -> list[str]:
        """The targets (config names, in config order) this user may request resets on; may be empty."""
        return await self.policy.requestable_targets(user_id)

    def reason_hint(self, targets: Iterable[str]) -> str | None:
        """The one `reason_pattern` these targets share, to show beside the reason field; None when
        none has a pattern or they differ (the check on submit names the one that applies)."""
        patterns = {self.targets[t].reason_pattern for t in targets if t in self.targets} - {None}
        return next(iter(patterns)) if len(patterns) == 1 else None

    async def may_decide(self, request_id: int, user_id: str) -> str | None:
        """Why this user cannot approve or deny request `request_id` now (a sentence for them), or None
        when they may. A pre-check only: `decide` checks again. Raises StoreUnavailable."""
        request = await self.store.get_request(request_id)
        if request is None:
            return f"There is no request #{request_id}."
        refusal = await self.policy.refuse_decision(user_id, request)
        if refusal is None and request.status not in OPEN_STATUSES:
            refusal = f"Request #{request_id} is already {STATUS_WORDS[request.status]}."
        return refusal

    async def search_servers(
        self,
        user_id: str,
        target: str | None,
        query: str,
        render: Callable[[ServerChoice], T],
        *,
        limit: int = 100,
        max_wait_s: float = 2.0,
    ) -> list[T]:
        """Servers of `target` whose name, ID or IP contains `query` (prefix matches first, at most
        `limit`), each passed through `render` once per server list (see `Inventory.search_rendered`).
        `target` None: the user's only requestable target, if they have exactly one. Empty when there
        is no such target or the user may not request on it. Raises InventoryUnavailable when the list
        cannot be had within `max_wait_s` seconds."""
        target = await self._search_target(user_id, target)
        if target is None:
            return []
        return await self.inventory.search_rendered(target, query, render, limit=limit, max_wait_s=max_wait_s)

    async def search_note(self, user_id: str, target: str | None) -> str | None:
        """A short line (at most 75 characters, a Slack option group label) for a search whose server
        list is known to miss servers; None when it is complete or not loaded yet. `target` as for
        `search_servers`."""
        target = await self._search_target(user_id, target)
        return None if target is None else self.inventory.incomplete_label(target)

    async def _search_target(self, user_id: str, target: str | None) -> str | None:
        if target is None:
            allowed = await self.policy.requestable_targets(user_id)
            target = allowed[0] if len(allowed) == 1 else None
        if target is None or not await self.policy.may_request(user_id, target):
            return None
        return target

    # -- reading -------------------------------------------------------------------------------

    async def view(self, request_id: int) -> RequestView | None:
        request = await self.store.get_request(request_id)
        if request is None:
            return None
        return await self.view_of(request)

    async def view_of(self, request: RequestRecord) -> RequestView:
        return await load_view(self.store, self.targets, request)

    async def status_for(self, request_id: int, user_id: str) -> ActionResult:
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, f"There is no request #{request_id}.")
        if user_id != request.requester_id and not await self.policy.may_approve(user_id, request.target):
            return ActionResult(False, f"Request #{request_id} is not yours to see.")
        return ActionResult(True, f"Request #{request.id} is {STATUS_WORDS[request.status]}.", request)

    async def history_for(self, user_id: str, limit: int = 10) -> list[RequestRecord]:
        return await self.store.list_requests(requester_id=user_id, limit=limit)

    # -- submission ----------------------------------------------------------------------------

    async def submit(self, sub: Submission) -> SubmitResult:
        """Validates and records a request; pre-flight then runs in the background."""
        if sub.submission_key is not None:
            earlier = await self.request_for_submission(sub.submission_key)
            if earlier is not None:
                return SubmitResult(earlier)
        checked, errors = await self.check(sub)
        if checked is None:
            return SubmitResult(None, errors)
        return SubmitResult(await self.record(checked))

    async def request_for_submission(self, submission_key: str) -> RequestRecord | None:
        """The request a submission with this key already made, if any: a front end answers a
        replayed submission as it answered the first, without checking it again."""
        return await self.store.request_for_submission(submission_key)

    async def check(self, sub: Submission) -> tuple[CheckedSubmission | None, dict[Field, str]]:
        """Every check of a submission, writing nothing: safe to cancel at any point."""
        errors: dict[Field, str] = {}
        target = self.targets.get(sub.target)
        if target is None or not await self.policy.may_request(sub.requester_id, sub.target):
            errors[Field.TARGET] = f"You may not request resets for target {sub.target!r}."
            return None, errors
        reason = sub.reason.strip()
        if not reason:
            errors[Field.REASON] = "Give a reason: approvers see it on the card."
        elif len(reason) > MAX_REASON_LENGTH:
            errors[Field.REASON] = f"Keep the reason under {MAX_REASON_LENGTH} characters."
        elif target.reason_pattern and not re.search(target.reason_pattern, reason):
            errors[Field.REASON] = (
                f"For {target.name} the reason must match {target.reason_pattern} "
                "(for example start with a ticket ID)."
            )
        if sub.password_mode == PasswordMode.PER_SERVER and not target.allow_per_server_passwords:
            errors[Field.PASSWORD_MODE] = f"{target.name} allows only one password for the whole batch."
        if sub.reboot != RebootMode.NONE and not target.allow_restart:
            errors[Field.REBOOT] = f"{target.name} does not allow the bot to restart servers."
        servers_error, resolved = await self._resolve_servers(target, sub)
        if servers_error:
            errors[Field.SERVERS] = servers_error
        if errors:
            return None, errors
        return CheckedSubmission(sub, target, reason, resolved), {}

    async def record(self, checked: CheckedSubmission) -> RequestRecord:
        """Writes a checked submission and starts its pre-flight.

        Raises only when nothing was created (the request and its servers are one transaction);
        once the request exists it is returned, whatever happens to its audit row. Not meant to be
        cancelled half-way by a front end's deadline: shield it and tell the user it is still running.
        A submission whose key was already recorded (a replay, even one racing the first on another
        replica) returns that request and does nothing else: no audit row, pre-flight or message.
        """
        sub, target = checked.submission, checked.target
        new = NewRequest(
            target=target.name,
            requester_id=sub.requester_id,
            reason=checked.reason,
            password_mode=sub.password_mode,
            reboot=sub.reboot,
            approvals_required=target.approvals_required,
            expires_at=utcnow() + target.request_ttl,
            submission_key=sub.submission_key,
        )
        created = await self.store.create_request_once(new, checked.servers)
        request = created.request
        self._remember_parties(request)
        if not created.created:
            log.warning(
                "submission %s by %s was already recorded as request #%d; nothing new created",
                sub.submission_key,
                sub.requester_id,
                request.id,
            )
            return request
        try:
            await self.store.add_audit(
                request.id,
                sub.requester_id,
                "submitted",
                {
                    "target": target.name,
                    "servers": len(checked.servers),
                    "password_mode": sub.password_mode.value,
                    "reboot": sub.reboot.value,
                },
            )
        except Exception as exc:  # the request exists: go on with it rather than strand it
            log.error("audit row of submitted #%d not written: %s", request.id, exc)
        REQUESTS.labels(target.name, RequestStatus.PREFLIGHT.value).inc()
        self.tasks.spawn(self._announce_and_preflight(request.id), name=f"preflight-{request.id}")
        return request

    async def _resolve_servers(self, target: Target, sub: Submission) -> tuple[str | None, list[NewServer]]:
        refs = [r for r in (ref.strip() for ref in sub.server_refs) if r]
        try:
            if sub.tag and sub.tag.strip():
                tagged = await self.inventory.with_tag(target.name, sub.tag)
                incomplete = self.inventory.incomplete(target.name)
                if incomplete:  # "every server with the tag" would silently leave some out
                    return f"{incomplete} Name the servers instead of giving a tag.", []
                if not tagged:
                    return f"No server of {target.name} has the tag {sub.tag.strip()!r}.", []
                refs.extend(s.id for s in tagged)
            if not refs:
                return "Pick at least one server, paste names or IDs, or give a tag.", []
            resolution = await self.inventory.resolve(target.name, refs)
        except InventoryUnavailable as exc:
            return str(exc), []
        problems: list[str] = []
        if resolution.unknown:
            problems.append("Unknown servers: " + _short_list(resolution.unknown) + ".")
            problems.append(self.inventory.incomplete(target.name) or "")
        for ref, matches in list(resolution.ambiguous.items())[:3]:
            problems.append(f"{ref!r} matches {len(matches)} servers; use its ID.")
        if resolution.duplicates:
            problems.append("Listed more than once: " + _short_list(resolution.duplicates) + ".")
        if len(resolution.servers) > target.max_servers:
            problems.append(
                f"{len(resolution.servers)} servers is over the limit of {target.max_servers} "
                f"for {target.name}."
            )
        if problems:
            return " ".join(p for p in problems if p), []
        return None, [
            NewServer(
                server_id=s.id,
                name=s.name,
                os_type=s.os_type,
                cloud_status=s.status,
                locked=s.locked,
            )
            for s in resolution.servers
        ]

    # -- pre-flight ----------------------------------------------------------------------------

    async def _announce_and_preflight(self, request_id: int) -> None:
        await self._notify(request_id, "request_submitted", self.notifier.request_submitted)
        await self.preflight(request_id)

    async def resume_preflight(self, request: RequestRecord) -> None:
        """A pre-flight a stopped process left (the caller took it over): that process may have stopped
        before telling the requester, so the front end first shows whatever it has not shown yet."""
        bind_request(request.id)
        view = await self.view_of(request)
        await notify_safely(self.notifier.ensure_shown(view), "ensure_shown")
        await self.preflight(request.id)

    async def preflight(self, request_id: int) -> None:
        """Checks every server against the cloud (plug-in flag, dry run) before anyone is asked."""
        bind_request(request_id)
        request = await self.store.get_request(request_id)
        if request is None or request.status != RequestStatus.PREFLIGHT:
            return
        client = self.clients[request.target]
        servers = await self.store.servers(request_id)
        try:
            updates = await self._check_servers(
                client, request, [s.server_id for s in servers], {s.server_id: s.locked for s in servers}
            )
        except EcsError as exc:
            await self._move(
                request,
                Move.PREFLIGHT_FAILED,
                EventKind.PREFLIGHT_FAILED,
                outcome=f"The pre-flight check could not reach the cloud: {exc}",
            )
            return
        await self.store.update_servers(request_id, updates)
        failed = [u for u in updates if u.preflight_error]
        if len(failed) == len(servers):
            await self._move(
                request,
                Move.PREFLIGHT_FAILED,
                EventKind.PREFLIGHT_FAILED,
                outcome=f"None of the {len(servers)} servers can be reset; see the list.",
            )
            return
        notes = []
        if failed:
            notes.append(f"{len(failed)} of {len(servers)} servers cannot be reset and will be skipped.")
        if client.batch_reset_supported is False:
            notes.append("This cloud has no batch reset API: the dry run could not check the servers.")
        note = " ".join(notes) or None
        moved = await self._transition(request, Move.PREFLIGHT_PASSED, outcome=note)
        if moved is None:
            return
        await self.store.add_audit(
            request_id,
            "bot",
            "preflight_passed",
            {"resettable": len(servers) - len(failed), "skipped": len(failed)},
        )
        await self._notify(request_id, "request_ready", self.notifier.request_ready)

    async def _check_servers(
        self, client: EcsClient, request: RequestRecord, server_ids: list[str], locked: Mapping[str, bool]
    ) -> list[ServerUpdate]:
        async def plugin(server_id: str) -> tuple[str, bool | None, EcsError | None]:
            try:
                return server_id, await client.reset_plugin_installed(server_id), None
            except EcsError as exc:
                return server_id, None, exc

        flags = await asyncio.gather(*(plugin(sid) for sid in server_ids))
        failures = [error for _, _, error in flags if error is not None]
        if failures and len(failures) == len(flags) and not any(isinstance(e, EcsNotFound) for e in failures):
            raise failures[0]  # the cloud itself is out of reach, not these servers: say so once
        errors: dict[str, str] = {}
        installed: dict[str, bool | None] = {}
        for sid, flag, error in flags:
            installed[sid] = flag
            if error:
                errors[sid] = str(error)
            elif locked.get(sid):
                errors[sid] = "The server is locked."
            elif flag is False:
                errors[sid] = "The password reset plug-in is not installed on this server."
        candidates = [sid for sid in server_ids if sid not in errors]
        if candidates:
            # A throwaway password: a dry run checks it like a real one and changes nothing.
            results = await client.reset_passwords(candidates, generate_password(), dry_run=True)
            for result in results:
                if result.outcome != ResetOutcome.SUCCEEDED:
                    errors[result.server_id] = _result_sentence(result.error_message, result.error_code)
        return [
            ServerUpdate(
                server_id=sid,
                plugin_installed=installed.get(sid),
                preflight_error=errors.get(sid),
                clear_preflight_error=sid not in errors,
            )
            for sid in server_ids
        ]

    # -- decisions -----------------------------------------------------------------------------

    async def decide(
        self, request_id: int, user_id: str, decision: Decision, reason: str | None = None
    ) -> ActionResult:
        bind_request(request_id)
        refused = await self._refusal_without_reading(request_id, user_id)
        if refused is not None:
            return refused
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, f"There is no request #{request_id}.")
        self._remember_parties(request)
        refusal = await self.policy.refuse_decision(user_id, request)
        if refusal:
            await self.store.add_audit(request_id, user_id, "decision_refused", {"why": refusal})
            return ActionResult(False, refusal, request)
        if request.status not in OPEN_STATUSES:
            return ActionResult(
                False, f"Request #{request_id} is already {STATUS_WORDS[request.status]}.", request
            )
        if request.expires_at <= utcnow():
            expired = await self.expire(request)
            return ActionResult(False, f"Request #{request_id} has expired.", expired or request)
        if decision == Decision.DENY:
            return await self._deny(request, user_id, reason)
        if request.status == RequestStatus.PREFLIGHT:
            return ActionResult(
                False, f"Request #{request_id} is still being checked; try again shortly.", request
            )
        # One transaction: the decision, its audit event and, on the last approval needed, the claim for
        # execution by this worker (pending -> approved -> executing): the cloud call follows at once.
        outcome = await self.store.approve(
            request_id,
            user_id,
            approvals_required=request.approvals_required,
            claimed_by=self.executor.settings.worker_id,
        )
        if not outcome.recorded:
            if outcome.status != RequestStatus.PENDING:
                latest = await self.store.get_request(request_id) or request
                return ActionResult(
                    False, f"Request #{request_id} is already {STATUS_WORDS[latest.status]}.", latest
                )
            return ActionResult(False, f"You have already decided on request #{request_id}.", request)
        if outcome.claimed is None:
            left = max(request.approvals_required - outcome.approvals, 1)
            event = WorkflowEvent(EventKind.APPROVED_BY, user_id)
            await self._notify(
                request_id, "request_updated", lambda v: self.notifier.request_updated(v, event)
            )
            return ActionResult(
                True, f"Approved. Request #{request_id} needs {left} more approval(s).", request
            )
        REQUESTS.labels(request.target, RequestStatus.APPROVED.value).inc()
        self.tasks.spawn(self.executor.run_claimed(outcome.claimed), name=f"execute-{request_id}")
        return ActionResult(True, f"Approved. Request #{request_id} is running now.", outcome.claimed)

    async def _deny(self, request: RequestRecord, user_id: str, reason: str | None) -> ActionResult:
        if not reason or not reason.strip():
            return ActionResult(False, "Give a reason for the denial.", request)
        outcome = f"Denied: {reason.strip()}"
        moved = await self._transition(request, Move.DENY, outcome=outcome)
        if moved is None:
            return ActionResult(False, f"Request #{request.id} was already settled.", request)
        # Recorded only once the deny has won, so a losing deny never shows on a request that ran.
        await self.store.add_decision(request.id, user_id, Decision.DENY, reason.strip())
        await self._announce(moved, EventKind.DENIED, user_id, outcome)
        return ActionResult(True, f"Request #{request.id} denied.", moved)

    async def cancel(self, request_id: int, user_id: str) -> ActionResult:
        bind_request(request_id)
        request = await self.store.get_request(request_id)
        if request is None:
            return ActionResult(False, f"There is no request #{request_id}.")
        refusal = await self.policy.refuse_cancel(user_id, request)
        if refusal:
            return ActionResult(False, refusal, request)
        if request.status not in OPEN_STATUSES:
            return ActionResult(
                False,
                f"Request #{request_id} is already {STATUS_WORDS[request.status]}; "
                "it can no longer be cancelled.",
                request,
            )
        moved = await self._move(
            request, Move.CANCEL, EventKind.CANCELLED, actor=user_id, outcome="Cancelled before it ran."
        )
        if moved is None:
            return ActionResult(
                False, f"Request #{request_id} was settled before the cancel arrived.", request
            )
        return ActionResult(True, f"Request #{request_id} cancelled.", moved)

    async def expire(self, request: RequestRecord) -> RequestRecord | None:
        return await self._move(
            request, Move.EXPIRE, EventKind.EXPIRED, outcome="Expired before it was approved."
        )

    # -- plumbing ------------------------------------------------------------------------------

    async def _transition(
        self, request: RequestRecord, move: Move, *, outcome: str | None = None
    ) -> RequestRecord | None:
        expected, new = TRANSITIONS[move]
        moved = await self.store.transition(request.id, expected, new, outcome_message=outcome)
        if moved is not None:
            REQUESTS.labels(request.target, new.value).inc()
        return moved

    async def _move(
        self,
        request: RequestRecord,
        move: Move,
        kind: EventKind,
        *,
        actor: str | None = None,
        outcome: str | None = None,
    ) -> RequestRecord | None:
        """A transition, its audit event and the notice to everyone involved, in that order."""
        moved = await self._transition(request, move, outcome=outcome)
        if moved is not None:
            await self._announce(moved, kind, actor, outcome)
        return moved

    async def _announce(
        self, moved: RequestRecord, kind: EventKind, actor: str | None, outcome: str | None
    ) -> None:
        await self.store.add_audit(
            moved.id, actor or "bot", kind.value, {"note": outcome} if outcome else None
        )
        event = WorkflowEvent(kind, actor, outcome)
        await self._notify(moved.id, "request_updated", lambda v: self.notifier.request_updated(v, event))

    async def _notify(
        self, request_id: int, what: str, send: Callable[[RequestView], Awaitable[None]]
    ) -> None:
        """Sends in the background, in order per request, drawn from the latest state of the request,
        so a click's answer never waits on Slack and a slow message never shows a stale card."""
        lock = self._notify_locks.setdefault(request_id, asyncio.Lock())

        async def run() -> None:
            async with lock:
                view = await self.view(request_id)
                if view is not None:
                    await notify_safely(send(view), what)

        self.tasks.spawn(run(), name=f"notify-{what}-{request_id}")

    # -- the one-time reveal -------------------------------------------------------------------

    async def reveal(self, token: str, user_id: str, show: ShowSecrets) -> RevealResult:
        """Shows a request's password(s) once to its requester through `show`, then erases them.

        The sealed copy is erased only after `show` returned: when it raises (the chat refused to open
        the view), the reveal stays usable within its window and the result is NOT_SHOWN, so a refusal
        never loses a password. One click at a time holds the secret (a lease in the store): a
        concurrent click gets BEING_SHOWN. The audit trail has `reveal_revealed` for a reveal and
        `reveal_not_shown` (with the front end's error code) for an attempt. The result never carries
        the secret; `expires_at` tells until when it may be revealed.
        """
        now = utcnow()
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
        if not await self.store.confirm_reveal(token, lease, utcnow()):
            log.error(
                "reveal of #%d was shown after its lease lapsed; the copy was left to its window", request_id
            )
        await self.store.add_audit(request_id, user_id, "reveal_revealed")
        return RevealResult(RevealOutcome.REVEALED, request_id, expires_at=taken.expires_at)

    async def save_message_ref(self, request_id: int, key: str, value: str) -> None:
        await self.store.set_message_ref(request_id, key, value)


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _result_sentence(message: str | None, code: str | None) -> str:
    text = message or "The cloud refused this server."
    return f"{text} ({code})" if code and code not in text else text
