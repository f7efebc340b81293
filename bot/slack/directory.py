"""Slack user groups as the workflow's Directory: members read per group, kept only seconds.

Each group's members come from `usergroups.users.list`, kept for at most the age the caller allows
(a few seconds for decisions); Slack's `subteam_members_changed` / `subteam_updated` events drop a
group's entry at once where events are on. A list fetched while such an event arrived is not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import ConfigError, Target
from bot.slack.refusals import RefusalKind, classify
from bot.workflow import DirectoryUnavailable, Policy


class SlackDirectory:
    """Group ID -> member IDs; one caller per group asks Slack while the others wait for its answer.
    A list's age is read from `clock.monotonic()` (the runtime's clock)."""

    def __init__(self, client: AsyncWebClient, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.client = client
        self._clock = clock
        self._members: dict[str, tuple[frozenset[str], float]] = {}
        self._generation: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _cached(self, group_id: str, max_age_s: float) -> frozenset[str] | None:
        entry = self._members.get(group_id)
        if entry is not None and self._clock.monotonic() - entry[1] <= max_age_s:
            return entry[0]
        return None

    async def members_of(self, group_id: str, *, max_age_s: float) -> frozenset[str]:
        """Member user IDs of `group_id`, read from Slack at most `max_age_s` seconds ago.

        Raises slack_sdk's SlackApiError (e.g. `no_such_subteam`, `ratelimited`) or aiohttp's errors
        when Slack cannot answer; nothing stale is returned instead."""
        cached = self._cached(group_id, max_age_s)
        if cached is not None:
            return cached
        async with self._locks.setdefault(group_id, asyncio.Lock()):
            cached = self._cached(group_id, max_age_s)
            if cached is not None:
                return cached
            generation = self._generation.get(group_id, 0)
            asked_at = self._clock.monotonic()  # the list is as old as the question, not the answer
            try:
                response = await self.client.usergroups_users_list(usergroup=group_id)
            except Exception as exc:
                refusal = classify(exc, "usergroups.users.list")
                if refusal.kind == RefusalKind.OPERATOR_MUST_FIX:
                    raise DirectoryUnavailable(
                        f"the bot cannot read Slack's user groups: {refusal.operator_sentence()}"
                    ) from None
                raise
            members = frozenset(str(u) for u in response.get("users") or [])
            if self._generation.get(group_id, 0) == generation:
                self._members[group_id] = (members, asked_at)
            return members

    async def group_ids(self) -> dict[str, str]:
        """Every enabled user group of the workspace, handle -> ID (one `usergroups.list` call)."""
        response = await self.client.usergroups_list()
        return {
            str(group["handle"]): str(group["id"])
            for group in response.get("usergroups") or []
            if group.get("handle") and group.get("id") and not group.get("date_delete")
        }

    def forget(self, group_id: str) -> None:
        self._members.pop(group_id, None)
        self._generation[group_id] = self._generation.get(group_id, 0) + 1


async def describe_groups(client: AsyncWebClient, targets: Sequence[Target]) -> tuple[list[str], bool]:
    """For `doctor`: how each group of the targets resolves (`@handle = S…`), and whether all did."""
    try:
        pins = await Policy({t.name: t for t in targets}, SlackDirectory(client)).pin_groups()
    except ConfigError as exc:
        return [f"user groups: FAILED: {p}" for p in exc.problems], False
    except Exception as exc:
        refusal = classify(exc, "usergroups.list")
        return [f"user groups: FAILED: could not list them: {refusal.operator_sentence()}"], False
    if not pins:
        return ["user groups: OK (none named by handle)"], True
    return ["user groups: OK (" + ", ".join(f"@{h} = {gid}" for h, gid in pins.items()) + ")"], True
