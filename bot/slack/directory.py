"""Slack user groups as the workflow's Directory: one `usergroups.list` call, cached for minutes."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.refusals import classify
from bot.workflow import DirectoryUnavailable


class SlackDirectory:
    """Maps a group handle or ID to member IDs; one caller refreshes stale entries while others wait."""

    def __init__(self, client: AsyncWebClient, *, max_age_s: float = 300.0) -> None:
        self.client = client
        self.max_age_s = max_age_s
        self._members: dict[str, frozenset[str]] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.max_age_s:
                return
            try:
                response = await self.client.usergroups_list(include_users=True)
            except Exception as exc:
                refusal = classify(exc, "usergroups.list")
                raise DirectoryUnavailable(
                    f"the bot cannot read Slack's user groups: {refusal.operator_sentence()}"
                ) from None
            members: dict[str, frozenset[str]] = {}
            for group in response.get("usergroups") or []:
                users = frozenset(group.get("users") or [])
                members[str(group.get("handle"))] = users
                members[str(group.get("id"))] = users
            self._members = members
            self._fetched_at = time.monotonic()

    async def members_of(self, group: str) -> frozenset[str]:
        if time.monotonic() - self._fetched_at >= self.max_age_s:
            await self._refresh()
        return self._members.get(group, frozenset())
