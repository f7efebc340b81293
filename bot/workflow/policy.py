"""Who may request and who may approve, checked on the server for every action, on fresh facts.

Decisions (submit, approve, deny, cancel) read group membership no older than `max_age_s`; when the
directory cannot answer, the decision is refused with a retry message, never made on an old list.
User groups are pinned by ID: handles in the targets file are resolved once at start-up (`pin_groups`),
so a group created later under a free handle can never become an approver group.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.config import ConfigError, Principals, Target
from bot.domain import RequestRecord
from bot.workflow import sentences as say
from bot.workflow.ports import Directory, DirectoryUnavailable

log = logging.getLogger(__name__)

DECISION_MAX_AGE_S = 5.0
"""Default for how old a membership list may be when it decides (BOT_MEMBERSHIP_MAX_AGE)."""
BROWSE_MAX_AGE_S = 60.0
"""How old it may be for what only shapes a form (which targets, which servers): no decision rests on it."""


class MembershipUnknown(DirectoryUnavailable):
    """The directory could not say whether a user is in a target's groups right now."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(say.membership_unknown(target))


class Policy:
    """Reads the targets' `requesters` and `approvers`: user IDs, `@handle` or `S…` user groups."""

    def __init__(
        self,
        targets: Mapping[str, Target],
        directory: Directory,
        *,
        max_age_s: float = DECISION_MAX_AGE_S,
        browse_max_age_s: float = BROWSE_MAX_AGE_S,
    ) -> None:
        self._targets = targets
        self._directory = directory
        self.max_age_s = max_age_s
        self.browse_max_age_s = max(browse_max_age_s, max_age_s)
        self._pins: dict[str, str] = {}

    # -- groups pinned by ID -------------------------------------------------------------------

    async def pin_groups(self) -> dict[str, str]:
        """Resolves every `@handle` of the targets to its group ID, once; returns handle -> ID.

        Raises ConfigError naming each handle or ID the workspace does not have (with what to write
        instead), and whatever the directory raises when it cannot be read at all.
        """
        wanted = [
            (target, kind, principals)
            for target in self._targets.values()
            for kind, principals in target.named_principals
            if principals.group_handles or principals.group_ids
        ]
        if not wanted:
            return {}
        known = await self._directory.group_ids()
        ids = set(known.values())
        problems: list[str] = []
        for target, kind, principals in wanted:
            for handle in sorted(principals.group_handles - known.keys()):
                problems.append(
                    f"target {target.name}, {kind}: there is no user group @{handle} in this Slack workspace "
                    "(anyone could create it later and join); create it first, or write the ID (S…) of "
                    "the group you mean instead of the handle"
                )
            for group_id in sorted(principals.group_ids - ids):
                problems.append(
                    f"target {target.name}, {kind}: there is no user group {group_id} in this Slack "
                    "workspace; copy the group's ID from its page in Slack"
                )
        if problems:
            raise ConfigError(problems)
        handles = {h for _, _, p in wanted for h in p.group_handles}
        self._pins = {h: known[h] for h in sorted(handles)}
        if self._pins:
            log.info("user groups pinned: %s", ", ".join(f"@{h} = {gid}" for h, gid in self._pins.items()))
        return dict(self._pins)

    def group_changed(self, group_id: str) -> None:
        """Slack reported a change to a group's members or settings: its next read goes to Slack."""
        self._directory.forget(group_id)

    def _group_ids(self, principals: Principals) -> list[str]:
        ids = set(principals.group_ids)
        for handle in principals.group_handles:
            pinned = self._pins.get(handle)
            if pinned is None:  # pin_groups not run (or failed): never guess what a handle means now
                log.error("user group @%s was not resolved at start-up; treated as unknown", handle)
                return []
            ids.add(pinned)
        return sorted(ids)

    # -- membership ----------------------------------------------------------------------------

    async def _is_among(self, user_id: str, target: str, principals: Principals, max_age_s: float) -> bool:
        """True when the user is listed or in one of the groups; MembershipUnknown when a group that
        could hold them did not answer."""
        if user_id in principals.user_ids:
            return True
        group_ids = self._group_ids(principals)
        if principals.group_handles and not group_ids:
            raise MembershipUnknown(target)
        unanswered = False
        for group_id in group_ids:
            try:
                members = await self._directory.members_of(group_id, max_age_s=max_age_s)
            except DirectoryUnavailable:  # the chat refuses the bot itself: the operator must fix it
                raise
            except Exception as exc:  # the directory is outside our control: refuse, never guess
                log.warning("could not read the members of user group %s: %s", group_id, exc)
                unanswered = True
                continue
            if user_id in members:
                return True
        if unanswered:
            raise MembershipUnknown(target)
        return False

    def _age(self, fresh: bool) -> float:
        return self.max_age_s if fresh else self.browse_max_age_s

    async def may_request(self, user_id: str, target: str, *, fresh: bool = True) -> bool:
        """Whether the user may request for `target`. `fresh=False` for forms only, never for a decision.

        Raises MembershipUnknown when Slack cannot say."""
        config = self._targets.get(target)
        if config is None:
            return False
        if not config.requesters:
            return True
        return await self._is_among(user_id, target, config.requester_principals, self._age(fresh))

    async def requestable_targets(self, user_id: str) -> list[str]:
        """The targets the form offers this user; raises MembershipUnknown when Slack cannot say."""
        return [name for name in self._targets if await self.may_request(user_id, name, fresh=False)]

    async def may_approve(self, user_id: str, target: str, *, fresh: bool = True) -> bool:
        """Whether the user is an approver of `target`; raises MembershipUnknown when Slack cannot say."""
        config = self._targets.get(target)
        if config is None:
            return False
        return await self._is_among(user_id, target, config.approver_principals, self._age(fresh))

    async def approvers_of(self, target: str) -> frozenset[str]:
        """Every user who approves for `target` as far as the directory said lately (browse age): whom
        to show that a request changed, never who may decide. A group that does not answer is left out
        (logged): its members see the change when they next open their overview."""
        config = self._targets.get(target)
        if config is None:
            return frozenset()
        principals = config.approver_principals
        people = set(principals.user_ids)
        for group_id in self._group_ids(principals):
            try:
                people |= await self._directory.members_of(group_id, max_age_s=self.browse_max_age_s)
            except Exception as exc:
                log.warning("members of user group %s not read for an overview: %s", group_id, exc)
        return frozenset(people)

    async def may_break_glass(self, user_id: str, target: str, *, fresh: bool = True) -> bool:
        """Whether the user may run a reset on `target` without approval (its `break_glass.allowed`);
        False where break-glass is off. Raises MembershipUnknown when Slack cannot say."""
        config = self._targets.get(target)
        if config is None or config.break_glass is None:
            return False
        return await self._is_among(user_id, target, config.break_glass.principals, self._age(fresh))

    async def refuse_decision(self, user_id: str, request: RequestRecord) -> str | None:
        """Returns why this user may not approve or deny this request, or None if they may."""
        if user_id == request.requester_id:
            return say.own_request(request.id)
        try:
            approver = await self.may_approve(user_id, request.target)
        except MembershipUnknown as exc:
            return str(exc)
        if not approver:
            return say.not_an_approver(request.target, request.id)
        return None

    async def refuse_cancel(self, user_id: str, request: RequestRecord) -> str | None:
        """Why this user may not cancel this request, or None: the requester may, and so may an
        approver of its target (who must then give a reason)."""
        if user_id == request.requester_id:
            return None
        try:
            if await self.may_approve(user_id, request.target):
                return None
        except MembershipUnknown as exc:
            return str(exc)
        return say.may_not_cancel(request.target, request.id)
