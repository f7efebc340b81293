"""Submission: the questions a front end asks before drawing a form, the checks, and recording a request."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from bot.config import Target
from bot.domain import NewRequest, NewServer, PasswordMode, RebootMode, RequestRecord, RequestStatus
from bot.metrics import REQUESTS
from bot.store import StoreUnavailable
from bot.workflow import sentences as say
from bot.workflow.inventory import InventoryUnavailable, ServerChoice
from bot.workflow.limits import already_requested, over_limit
from bot.workflow.policy import MembershipUnknown
from bot.workflow.ports import DirectoryUnavailable
from bot.workflow.preflight import Preflight
from bot.workflow.results import CheckedSubmission, Field, Submission, SubmitResult

log = logging.getLogger(__name__)

MAX_REASON_LENGTH = 1000

T = TypeVar("T")


class Submissions(Preflight):
    """From a filled-in form to a recorded request whose pre-flight has started."""

    async def requestable_targets(self, user_id: str) -> list[str]:
        """The targets (config names, in config order) this user may request resets on; may be empty.
        Raises MembershipUnknown when Slack cannot say who is in their groups."""
        return await self.policy.requestable_targets(user_id)

    def reason_hint(self, targets: Iterable[str]) -> str | None:
        """The one `reason_pattern` these targets share, to show beside the reason field; None when
        none has a pattern or they differ (the check on submit names the one that applies). Unknown
        target names are skipped; never raises."""
        patterns = {self.targets[t].reason_pattern for t in targets if t in self.targets} - {None}
        return next(iter(patterns)) if len(patterns) == 1 else None

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
        `search_servers`. Never raises (a directory that cannot answer gives None)."""
        target = await self._search_target(user_id, target)
        return None if target is None else self.inventory.incomplete_label(target)

    async def _search_target(self, user_id: str, target: str | None) -> str | None:
        """The target a server search is on, or None when the user may not search it. A form only: the
        submission is checked again, on fresh facts, so a membership list up to a minute old will do."""
        try:
            if target is None:
                allowed = await self.policy.requestable_targets(user_id)
                target = allowed[0] if len(allowed) == 1 else None
            permitted = target is not None and await self.policy.may_request(user_id, target, fresh=False)
        except MembershipUnknown as exc:
            log.warning("server search by %s refused: %s", user_id, exc)
            return None
        return target if permitted else None

    async def submit(self, sub: Submission) -> SubmitResult:
        """Validates and records a request; pre-flight then runs in the background.

        Result: `SubmitResult(request)` (a replayed `submission_key` returns the request it made), or
        `SubmitResult(None, errors)` with a sentence per `Field` and nothing written. Raises
        `StoreUnavailable` when recording failed (nothing was created) and `BreakGlassRefused` when a
        break-glass cooldown was taken meanwhile."""
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
        replayed submission as it answered the first, without checking it again. Raises
        `StoreUnavailable`."""
        return await self.store.request_for_submission(submission_key)

    async def check(self, sub: Submission) -> tuple[CheckedSubmission | None, dict[Field, str]]:
        """Every check of a submission, writing nothing: safe to cancel at any point.

        Result: `(CheckedSubmission, {})` for `record`, or `(None, errors)` with a sentence per `Field`
        (unknown, duplicate or too many servers, a target the user may not request for, a reason not
        matching the target's pattern). A directory or a cloud that cannot be read is an error on its
        field too ("The bot is misconfigured ..."), and so is a store that does not answer: never raises
        for those."""
        errors: dict[Field, str] = {}
        if sub.break_glass:
            try:
                refusal = await self.refuse_break_glass(sub.requester_id, sub.target)
            except StoreUnavailable as exc:
                log.warning("break-glass of %s not checked: %s", sub.requester_id, exc)
                refusal = say.STORE_FAILED
            if refusal is not None:
                return None, {Field.TARGET: refusal}
        target = self.targets.get(sub.target)
        try:
            allowed = target is not None and await self.policy.may_request(sub.requester_id, sub.target)
        except DirectoryUnavailable as exc:
            errors[Field.TARGET] = (
                str(exc) if isinstance(exc, MembershipUnknown) else say.cannot_check_requesters(exc)
            )
            return None, errors
        if target is None or not allowed:
            errors[Field.TARGET] = say.may_not_request(sub.target)
            return None, errors
        reason = sub.reason.strip()
        if not reason:
            errors[Field.REASON] = say.REASON_MISSING
        elif len(reason) > MAX_REASON_LENGTH:
            errors[Field.REASON] = say.reason_too_long(MAX_REASON_LENGTH)
        elif target.reason_pattern and not re.search(target.reason_pattern, reason):
            errors[Field.REASON] = say.reason_must_match(target.name, target.reason_pattern)
        if sub.password_mode == PasswordMode.PER_SERVER and not target.allow_per_server_passwords:
            errors[Field.PASSWORD_MODE] = say.one_password_only(target.name)
        if sub.reboot != RebootMode.NONE and not target.allow_restart:
            errors[Field.REBOOT] = say.no_restart(target.name)
        servers_error, resolved = await self._resolve_servers(target, sub)
        if servers_error:
            errors[Field.SERVERS] = servers_error
        if not errors:
            errors = await self._over_limits(sub, target, resolved)
        if errors:
            return None, errors
        return CheckedSubmission(sub, target, reason, resolved), {}

    async def _recorded(self, sub: Submission) -> bool:
        """Whether this submission (by its key) already made a request: a replay, maybe one racing the
        first copy, which `record` answers with that request."""
        if sub.submission_key is None:
            return False
        return await self.request_for_submission(sub.submission_key) is not None

    async def _over_limits(
        self, sub: Submission, target: Target, servers: list[NewServer]
    ) -> dict[Field, str]:
        """The abuse limits (see `limits`), read from the store, for a submission that passed every other
        check. A replay of a recorded submission is that request again (`record` returns it): it counts
        against no limit and holds its own servers, even when it races its first copy."""
        field = Field.TARGET
        try:
            if await self._recorded(sub):
                return {}
            refused = await over_limit(self.store, self.limits, sub.requester_id, self.clock.now())
            if refused is None:
                field = Field.SERVERS
                refused = await already_requested(self.store, target.name, servers)
            if refused is not None and await self._recorded(sub):
                return {}
        except StoreUnavailable as exc:
            log.warning("limits of a submission by %s not checked: %s", sub.requester_id, exc)
            return {Field.REASON: say.STORE_FAILED}
        return {field: refused} if refused else {}

    async def record(self, checked: CheckedSubmission) -> RequestRecord:
        """Writes a checked submission and starts its pre-flight (a break-glass one claims its
        requester's cooldown in the same transaction, and raises BreakGlassRefused when it was taken).

        Raises only when nothing was created (the request and its servers are one transaction);
        once the request exists it is returned, whatever happens to its audit row. Not meant to be
        cancelled half-way by a front end's deadline: shield it and tell the user it is still running.
        A submission whose key was already recorded (a replay, even one racing the first on another
        replica) returns that request and does nothing else: no audit row, pre-flight or message.
        Raises `StoreUnavailable` or `BreakGlassRefused`, each with nothing created.
        """
        sub, target = checked.submission, checked.target
        new = NewRequest(
            target=target.name,
            requester_id=sub.requester_id,
            reason=checked.reason,
            password_mode=sub.password_mode,
            reboot=sub.reboot,
            approvals_required=target.approvals_required,
            expires_at=self.clock.now() + target.request_ttl,
            submission_key=sub.submission_key,
            break_glass=sub.break_glass,
        )
        if sub.break_glass:
            created = await self._create_break_glass(new, checked.servers)
        else:
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
                    **({"break_glass": True} if sub.break_glass else {}),
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
                    return say.tag_on_incomplete_list(incomplete), []
                if not tagged:
                    return say.no_server_with_tag(target.name, sub.tag.strip()), []
                refs.extend(s.id for s in tagged)
            if not refs:
                return say.NO_SERVERS_GIVEN, []
            resolution = await self.inventory.resolve(target.name, refs)
        except InventoryUnavailable as exc:
            return str(exc), []
        problems: list[str] = []
        if resolution.unknown:
            problems.append(say.unknown_servers(resolution.unknown))
            problems.append(self.inventory.incomplete(target.name) or "")
        for ref, matches in list(resolution.ambiguous.items())[:3]:
            problems.append(say.ambiguous_server(ref, len(matches)))
        if resolution.duplicates:
            problems.append(say.listed_twice(resolution.duplicates))
        if len(resolution.servers) > target.max_servers:
            problems.append(say.over_server_limit(len(resolution.servers), target.max_servers, target.name))
        if problems:
            return " ".join(p for p in problems if p), []
        names = await self.inventory.name_counts(target.name)
        return None, [
            NewServer(
                server_id=s.id,
                name=s.name,
                os_type=s.os_type,
                cloud_status=s.status,
                locked=s.locked,
                private_ip=s.addresses[0] if s.addresses else None,
                tags=tuple(s.tags),
                namesakes=max(names.get(s.name.lower(), 1) - 1, 0),
            )
            for s in resolution.servers
        ]
