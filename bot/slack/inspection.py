"""What `doctor` reads of the Slack workspace: the token's scopes, the channels, the people the targets name.

Read-only calls (`auth.test`, `conversations.info`, `users.info`); each problem is one sentence that says
what is wrong and how to fix it. The scopes the bot asks for are written once here (`BOT_SCOPES`);
manifest.yml declares exactly these (tests/test_manifest.py compares them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Target

__all__ = [
    "BOT_SCOPES",
    "SlackUnanswered",
    "WorkspaceProblems",
    "check_channels",
    "check_people",
    "check_scopes",
    "scopes_needed",
]

BOT_SCOPES: dict[str, str] = {
    "commands": "the /reset-ecs-password command and the shortcuts",
    "chat:write": "the approval card and its thread, the requester's messages, ephemeral answers, the audit "
    "channel",
    "im:write": "conversations.open: the DM in which the requester gets the request number and the password",
    "usergroups:read": "usergroups.list and usergroups.users.list: @group requesters and approvers",
    "channels:read": "conversations.info: doctor checks the bot is in each public approvers or audit channel",
    "groups:read": "conversations.info: the same for private channels",
    "users:read": "users.info: doctor checks each person the targets file names exists and is active",
}
"""Every bot scope manifest.yml declares, with what it is for."""

_GROUP_SCOPE = "usergroups:read"
_REINSTALL = (
    "add it under the app's OAuth & Permissions > Bot Token Scopes (manifest.yml declares it) and reinstall "
    "the app to the workspace (if Slack then shows another Bot User OAuth Token, set it as SLACK_BOT_TOKEN)"
)
_CONCURRENT_LOOKUPS = 8
_READ_SCOPE = {"conversations.info": "channels:read", "users.info": "users:read"}


class WorkspaceProblems(Exception):
    """What a check found wrong: one sentence per problem, each with its fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class SlackUnanswered(Exception):
    """Slack answered a look-up with a 5xx or a rate limit: nothing is known of the workspace from it, so
    it is no problem of the workspace (said once, by the caller, as a check that did not finish)."""

    def __init__(self, method: str, status: int) -> None:
        super().__init__(f"Slack answered {method} with HTTP {status}; try again later")


def _names_groups(targets: Iterable[Target]) -> list[str]:
    return [t.name for t in targets for _, p in t.named_principals if p.group_handles or p.group_ids]


def scopes_needed(targets: Sequence[Target]) -> dict[str, str]:
    """Scope -> why, for this configuration: all of BOT_SCOPES except `usergroups:read` when no target
    names a user group."""
    needed = dict(BOT_SCOPES)
    naming = sorted(set(_names_groups(targets)))
    if naming:
        needed[_GROUP_SCOPE] += f" (target {', '.join(naming)} names user groups)"
    else:
        del needed[_GROUP_SCOPE]
    return needed


def check_scopes(granted: frozenset[str] | None, targets: Sequence[Target]) -> str:
    """What the token lacks of what the configuration needs; raises WorkspaceProblems when anything."""
    if granted is None:
        raise WorkspaceProblems(
            [
                "Slack's answer to auth.test carried no x-oauth-scopes header, so the token's scopes are "
                "unknown: if a proxy strips response headers, let x-oauth-scopes through"
            ]
        )
    needed = scopes_needed(targets)
    missing = [
        f"the token lacks `{scope}` ({why}): {_REINSTALL}"
        for scope, why in needed.items()
        if scope not in granted
    ]
    if missing:
        raise WorkspaceProblems(missing)
    extra = sorted(granted - BOT_SCOPES.keys())
    unused = sorted(BOT_SCOPES.keys() - needed.keys() - granted)
    found = f"{', '.join(sorted(needed))} granted"
    if unused:
        found += f"; not granted but unused by this configuration: {', '.join(unused)}"
    if extra:
        found += f"; granted beyond what the bot uses (could be removed): {', '.join(extra)}"
    return found


def _refused(exc: SlackApiError, subject: str, method: str, not_found: str) -> str:
    """The problem line for a look-up Slack refused: `not_found` when it says there is no such thing.
    Raises SlackUnanswered when Slack did not really answer (a 5xx, a rate limit)."""
    status = exc.response.status_code if exc.response is not None else 200
    if status >= 500 or status == 429:
        raise SlackUnanswered(method, status) from None
    data = exc.response.data if exc.response is not None else None
    error = str((data.get("error") if isinstance(data, dict) else None) or f"HTTP {exc.response.status_code}")
    if error in ("channel_not_found", "user_not_found", "users_not_found"):
        return f"{subject}: {not_found}"
    if error == "missing_scope":
        needed = exc.response.get("needed") or _READ_SCOPE[method]
        return f"{subject}: could not be checked, the token lacks `{needed}`: {_REINSTALL}"
    return f"{subject}: Slack refused {method} ({error})"


def _channels(targets: Sequence[Target], audit_channel: str | None) -> dict[str, list[str]]:
    """Channel ID -> what uses it (e.g. "approvers channel of prod", "audit channel")."""
    uses: dict[str, list[str]] = {}
    for target in targets:
        uses.setdefault(target.approvers_channel, []).append(f"approvers channel of {target.name}")
    if audit_channel:
        uses.setdefault(audit_channel, []).append("audit channel (BOT_AUDIT_CHANNEL)")
    return uses


async def _each(items: Sequence[str], check: Callable[[str], Awaitable[str | None]]) -> None:
    """Checks every item, a few at a time (a long list must not meet Slack's rate limit at once); raises
    WorkspaceProblems with every problem found."""
    gate = asyncio.Semaphore(_CONCURRENT_LOOKUPS)

    async def one(item: str) -> str | None:
        async with gate:
            return await check(item)

    answers = await asyncio.gather(*(one(i) for i in items), return_exceptions=True)
    for answer in answers:  # every look-up has ended: none is left running behind a failure
        if isinstance(answer, BaseException):
            raise answer
    problems = [p for p in answers if isinstance(p, str) and p]
    if problems:
        raise WorkspaceProblems(problems)


async def check_channels(
    client: AsyncWebClient, targets: Sequence[Target], audit_channel: str | None, bot_name: str
) -> str:
    """Every approvers channel and the audit channel exists, is not archived, and has the bot as a member.

    Raises WorkspaceProblems naming each channel that fails, with its fix."""
    uses = _channels(targets, audit_channel)
    invite = f"/invite @{bot_name}" if bot_name else "/invite @the bot"

    async def one(channel: str) -> str | None:
        what = " and ".join(uses[channel])
        try:
            answer = await client.conversations_info(channel=channel)
        except SlackApiError as exc:
            return _refused(
                exc,
                f"{channel} ({what})",
                "conversations.info",
                f"no such channel, or a private channel the bot is not in: invite the bot there ({invite}), "
                "or correct the channel ID (channel details, at the bottom)",
            )
        info = answer.get("channel") or {}
        name = f"#{info['name']}" if info.get("name") else channel
        if info.get("is_archived"):
            return f"{name} ({channel}, {what}) is archived: unarchive it, or name another channel"
        if not info.get("is_member"):
            return (
                f"{name} ({channel}, {what}): the bot is not a member, so it cannot post there: type "
                f"{invite} in {name}"
            )
        return None

    channels = sorted(uses)
    await _each(channels, one)
    return f"the bot is a member of {', '.join(channels)}; none is archived"


def _people(targets: Sequence[Target]) -> dict[str, list[str]]:
    """User ID -> where the targets file names it (e.g. "approvers of prod")."""
    named: dict[str, list[str]] = {}
    for target in targets:
        for kind, principals in target.named_principals:
            for user_id in sorted(principals.user_ids):
                named.setdefault(user_id, []).append(f"{kind} of {target.name}")
    return named


async def check_people(client: AsyncWebClient, targets: Sequence[Target]) -> str:
    """Every user ID the targets name is an active person of this workspace (not a bot).

    Raises WorkspaceProblems naming each one that is not, with where it is named and what to do."""
    named = _people(targets)

    async def one(user_id: str) -> str | None:
        where = ", ".join(named[user_id])
        try:
            answer = await client.users_info(user=user_id)
        except SlackApiError as exc:
            return _refused(
                exc,
                f"{user_id} ({where})",
                "users.info",
                "no such user in this workspace: correct the ID (the person's profile > ⋮ > Copy member ID) "
                "or remove it",
            )
        user = answer.get("user") or {}
        label = f"{user_id} (@{user['name']})" if user.get("name") else user_id
        if user.get("deleted"):
            return f"{label} ({where}) is deactivated: remove it from the targets file or name someone else"
        if user.get("is_bot"):
            return f"{label} ({where}) is a bot, not a person: name a person instead"
        return None

    people = sorted(named)
    await _each(people, one)
    return f"{len(people)} person(s) named, each active in the workspace"
