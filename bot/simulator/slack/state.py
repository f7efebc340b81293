"""The fake Slack's state: the workspace and app install its answers depend on, as tests arrange them.

`SlackState` holds everything the fake keeps (its constructor lists it all, grouped by the module that
works on it) and the knobs tests turn: members, channels, user groups, a revoked token, scripted faults;
and the names people read (`who`, `where`) with the transcript of what they saw. Calls (recording),
messages (message_store), views (view_store) and the bot's answers (answers) build on it; the Web API
methods, Socket Mode and the HTTP layer (`FakeSlack`) work on all of them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable, Mapping

from aiohttp import web

from bot.simulator.slack import limits
from bot.simulator.slack.faults import SlackFault
from bot.simulator.slack.rate_limits import RateLimiter
from bot.simulator.slack.records import (
    EphemeralMessage,
    JsonDict,
    ResponseUrl,
    ShownError,
    SlackCall,
    StoredMessage,
    StoredView,
    Trigger,
)
from bot.simulator.slack.scopes import manifest_bot_scopes
from bot.simulator.slack.workspace import SlackChannel, SlackUser, SlackUsergroup

FAKE_BOT_TOKEN = "xoxb-fake-bot-token"
FAKE_APP_TOKEN = "xapp-fake-app-token"
GENERAL_CHANNEL = "C0GENERAL"
# What Slack answers for every call once the token is no longer good (see `token_error`).
TOKEN_ERRORS = ("token_revoked", "invalid_auth", "account_inactive", "token_expired", "not_authed")


class SlackState:
    """A Slack workspace and app install: everything the fake's answers depend on, and its records.

    Arrange it with `add_user`, `add_channel`, `invite`, `remove_from_channel`, `archive_channel`,
    `deactivate_user`, `add_usergroup`, `revoke_token`; script faults with `fail`, `rate_limit`,
    `server_error`, `timeout`.
    """

    def __init__(
        self,
        *,
        bot_token: str = FAKE_BOT_TOKEN,
        app_token: str = FAKE_APP_TOKEN,
        team_id: str = "T0FAKETEAM",
        team_domain: str = "fake-workspace",
        app_id: str = "A0FAKEAPP",
        bot_user_id: str = "U0FAKEBOT",
        bot_id: str = "B0FAKEBOT",
        bot_name: str = "ecs-reset-bot",
        users: Iterable[SlackUser] = (),
        usergroups: Iterable[SlackUsergroup] = (),
        channels: Mapping[str, str] | None = None,
        scopes: Iterable[str] | None = None,
        printer: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        trigger_ttl: float = limits.TRIGGER_TTL_SECONDS,
        enforce_rate_limits: bool = False,
        max_socket_connections: int = 10,
    ) -> None:
        # The install and the workspace (here).
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.users: dict[str, SlackUser] = {u.id: u for u in users}
        self.users.setdefault(bot_user_id, SlackUser(bot_user_id, bot_name, bot_name, is_bot=True))
        self.usergroups: dict[str, SlackUsergroup] = {g.id: g for g in usergroups}
        self.channels: dict[str, SlackChannel] = {GENERAL_CHANNEL: SlackChannel(GENERAL_CHANNEL, "general")}
        for channel_id, name in (channels or {}).items():
            self.channels[channel_id] = SlackChannel(channel_id, name.lstrip("#"))
        self.scopes: frozenset[str] = frozenset(manifest_bot_scopes() if scopes is None else scopes)
        self.token_error: str | None = None
        self.clock = clock
        self.url = ""
        self.api_url = ""
        self.stopping = asyncio.Event()
        # Scripted faults and rate-limit tiers (here; applied by server.py).
        self.faults: list[SlackFault] = []
        self.enforce_rate_limits = enforce_rate_limits
        self.rate_limiter = RateLimiter(clock)
        # What people saw (here).
        self.printer = printer
        self.shown_errors: list[ShownError] = []
        self._transcript: list[str] = []
        # Calls (recording.py).
        self._calls: list[SlackCall] = []
        self._changed = asyncio.Condition()
        # Messages (message_store.py).
        self._messages: dict[str, list[StoredMessage]] = {}
        self._ephemerals: list[EphemeralMessage] = []
        self._reactions: dict[tuple[str, str], list[str]] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._last_ts = 0.0
        # Views and triggers (view_store.py).
        self.trigger_ttl = trigger_ttl
        self.views: dict[str, StoredView] = {}
        self._modal_stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._home_history: dict[str, list[JsonDict]] = {}
        self._triggers: dict[str, Trigger] = {}
        self._ids = itertools.count(1)
        # Socket Mode (socket_mode.py).
        self.max_socket_connections = max_socket_connections
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_changed = asyncio.Condition()
        self._socket_acks: dict[str, asyncio.Future[JsonDict]] = {}
        self.socket_connections_opened = 0

    # ------------------------------------------------------------------------------ workspace setup

    def add_user(
        self, user_id: str, name: str, real_name: str = "", *, is_bot: bool = False, email: str | None = None
    ) -> SlackUser:
        """Add (or replace) a workspace member."""
        user = SlackUser(user_id, name, real_name, is_bot=is_bot, email=email)
        self.users[user_id] = user
        return user

    def deactivate_user(self, user_id: str) -> None:
        """Deactivate an account: Slack drops it from channels and groups and archives its DMs."""
        self.users[user_id].deleted = True

    def add_usergroup(self, group_id: str, handle: str, members: Iterable[str] = ()) -> SlackUsergroup:
        """Add (or replace) a user group."""
        group = SlackUsergroup(group_id, handle.lstrip("@"), list(members))
        self.usergroups[group_id] = group
        return group

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[str] | None = None,
        bot_member: bool = True,
        is_private: bool = False,
        archived: bool = False,
    ) -> SlackChannel:
        """Add (or replace) a channel; `members` None lets every member of the workspace in."""
        member_set = None if members is None else set(members) | ({self.bot_user_id} if bot_member else set())
        if members is None and not bot_member:
            member_set = {u for u in self.users if u != self.bot_user_id}
        channel = SlackChannel(channel_id, name.lstrip("#"), member_set, is_private, archived)
        self.channels[channel_id] = channel
        return channel

    def name_channel(self, channel_id: str, name: str) -> None:
        """Name a channel (creating it, open to everyone with the bot in it, if it does not exist)."""
        if channel_id in self.channels:
            self.channels[channel_id].name = name.lstrip("#")
        else:
            self.add_channel(channel_id, name)

    def invite(self, channel_id: str, *user_ids: str) -> None:
        """Add members (the bot too, by `bot_user_id`) to a channel."""
        channel = self.channels[channel_id]
        if channel.members is not None:
            channel.members.update(user_ids)

    def remove_from_channel(self, channel_id: str, user_id: str) -> None:
        """Remove a member (the bot too: then Slack answers ``not_in_channel``)."""
        channel = self.channels[channel_id]
        if channel.members is None:
            channel.members = {u for u in self.users if u != user_id}
        channel.members.discard(user_id)

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        """Archive (or unarchive) a channel: posts answer ``is_archived``, edits ``is_inactive``."""
        self.channels[channel_id].is_archived = archived

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D…`` id of the bot's DM with a user (what ``conversations.open`` returns)."""
        return "D" + user_id[1:] if user_id[:1] in ("U", "W") else "D" + user_id

    def dm_owner(self, channel: str) -> SlackUser | None:
        """The member whose DM with the bot `channel` is, if any."""
        return next((u for u in self.users.values() if self.dm_channel(u.id) == channel), None)

    # ------------------------------------------------------------------------ token, scopes, faults

    def revoke_token(self, error: str = "token_revoked") -> None:
        """Every later call with the bot token answers `error` (one of `TOKEN_ERRORS`) until `restore_token`.

        ValueError for an error Slack does not give for a token."""
        if error not in TOKEN_ERRORS:
            raise ValueError(f"not a token error: {error}")
        self.token_error = error

    def restore_token(self) -> None:
        """The bot token works again (the operator reinstalled the app)."""
        self.token_error = None

    def fail(
        self,
        method: str,
        error: str,
        times: int | None = 1,
        *,
        status: int = 200,
        channel: str | None = None,
        user: str | None = None,
    ) -> SlackFault:
        """Answer the next `times` calls of `method` ("*": any) with `error`, or HTTP `status` when not 200.

        `channel`/`user` limit it to calls about that channel or person; `times` None: until cleared.
        """
        return self._script(SlackFault(method, error, times, status, channel, user))

    def rate_limit(
        self, method: str, times: int | None = 1, retry_after: int = 1, *, channel: str | None = None
    ) -> SlackFault:
        """Answer the next `times` calls of `method` with HTTP 429 ``ratelimited`` and ``Retry-After``."""
        return self._script(SlackFault(method, "ratelimited", times, 429, channel, retry_after=retry_after))

    def server_error(
        self, method: str, times: int | None = 1, status: int = 503, *, channel: str | None = None
    ) -> SlackFault:
        """Answer the next `times` calls of `method` (about `channel`, if given) with an HTTP 5xx and no
        JSON (Slack's outages)."""
        return self.fail(method, "service_unavailable", times, status=status, channel=channel)

    def timeout(self, method: str, times: int | None = 1, hold_s: float = 60.0) -> SlackFault:
        """Hold the next `times` calls of `method` for `hold_s` (past any client timeout), then 504."""
        return self._script(SlackFault(method, "request_timeout", times, 504, hold_s=hold_s))

    def _script(self, fault: SlackFault) -> SlackFault:
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        self.faults.clear()

    # ------------------------------------------------------------------------------ what people see

    def show(self, line: str) -> None:
        """Add a line to the transcript (and print it, for the demo)."""
        self._transcript.append(line)
        if self.printer is not None:
            self.printer(line)

    def show_error(self, user: str, where: str, text: str) -> None:
        """Record what Slack showed a person instead of what the bot meant (and put it in the transcript)."""
        self.shown_errors.append(ShownError(user, where, text))
        self.show(f"[{where} for {self.who(user)}, Slack error] {text}")

    def transcript(self) -> str:
        """Everything shown so far, rendered as plain text, one entry per thing a person saw."""
        return "\n".join(self._transcript)

    def who(self, user_id: str) -> str:
        """``@name`` for a known member, the id otherwise."""
        user = self.users.get(user_id)
        return f"@{user.name}" if user else user_id

    def only(self, channel: str, user: str) -> str:
        """Where an ephemeral shows: "DM @ann, only you" or "#general, only @ann"."""
        who = "you" if channel == self.dm_channel(user) else self.who(user)
        return f"{self.where(channel)}, only {who}"

    def where(self, channel: str) -> str:
        """``#name`` for a channel, ``DM @ann`` for a DM."""
        if channel.startswith("D"):
            owner = self.dm_owner(channel)
            return f"DM {self.who(owner.id)}" if owner else f"DM {channel}"
        known = self.channels.get(channel)
        return f"#{known.name}" if known else f"#{channel}"
