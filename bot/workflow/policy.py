"""Who may request and who may approve, checked on the server for every action."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.config import Principals, Target
from bot.domain import RequestRecord
from bot.workflow.ports import Directory, DirectoryUnavailable

log = logging.getLogger(__name__)


class Policy:
    """Reads the targets' `requesters` and `approvers`: user IDs, `@handle` or `S…` user groups."""

    def __init__(self, targets: Mapping[str, Target], directory: Directory) -> None:
        self._targets = targets
        self._directory = directory

    async def _is_among(self, user_id: str, principals: Principals) -> bool:
        """Raises DirectoryUnavailable when no group checked admits the user and one could not be read:
        the honest answer is then "cannot tell", never "not allowed" (and nothing is allowed either)."""
        if user_id in principals.user_ids:
            return True
        unreadable: DirectoryUnavailable | None = None
        for group in sorted(principals.group_handles | principals.group_ids):
            try:
                members = await self._directory.members_of(group)
            except DirectoryUnavailable as exc:
                unreadable = exc
                continue
            except Exception as exc:  # the directory is outside our control; fail closed
                log.warning("could not resolve user group %s: %s", group, exc)
                unreadable = DirectoryUnavailable(f"the bot could not read user group {group}")
                continue
            if user_id in members:
                return True
        if unreadable is not None:
            raise unreadable
        return False

    async def may_request(self, user_id: str, target: str) -> bool:
        config = self._targets.get(target)
        if config is None:
            return False
        if not config.requesters:
            return True
        return await self._is_among(user_id, config.requester_principals)

    async def requestable_targets(self, user_id: str) -> list[str]:
        return [name for name in self._targets if await self.may_request(user_id, name)]

    async def may_approve(self, user_id: str, target: str) -> bool:
        config = self._targets.get(target)
        return config is not None and await self._is_among(user_id, config.approver_principals)

    async def refuse_decision(self, user_id: str, request: RequestRecord) -> str | None:
        """Returns why this user may not approve or deny this request, or None if they may."""
        if user_id == request.requester_id:
            return f"You cannot approve or deny your own request #{request.id}."
        if not await self.may_approve(user_id, request.target):
            return (
                f"You are not an approver for target {request.target}, so you cannot decide on #{request.id}."
            )
        return None

    async def refuse_cancel(self, user_id: str, request: RequestRecord) -> str | None:
        if user_id == request.requester_id or await self.may_approve(user_id, request.target):
            return None
        return f"Only the requester or an approver of {request.target} can cancel request #{request.id}."
