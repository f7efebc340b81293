"""The fake Slack's state and its knobs: workspace, token, scopes, faults, and what it recorded.

`SlackState` is what tests arrange (members, channels, a revoked token, a scripted fault) and read
back (calls, messages, ephemerals, views, what people saw); the Web API methods, Socket Mode and the
HTTP layer (`FakeSlack`) work on it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
from bot.simulator.slack.render import render_message, render_view
from bot.simulator.slack.scopes import manifest_bot_scopes
from bot.simulator.slack.workspace import SlackChannel, SlackUser, SlackUsergroup

FAKE_BOT_TOKEN = "xoxb-fake-bot-token"
FAKE_APP_TOKEN = "xapp-fake-app-token"
GENERAL_CHANNEL = "C0GENERAL"
# What Slack answers for every call once the token is no longer good (see `token_error`).
TOKEN_ERRORS = ("token_revoked", "invalid_auth", "account_inactive", "token_expired", "not_authed")


class SlackState:
    """A Slack workspace and app install: everything the fake's answers depend on, and its records."""

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
        self.printer = printer
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self.enforce_rate_limits = enforce_rate_limits
        self.max_socket_connections = max_socket_connections
        self.url = ""
        self.api_url = ""
        self.faults: list[SlackFault] = []
        self.rate_limiter = RateLimiter(clock)
        self.views: dict[str, StoredView] = {}
        self.shown_errors: list[ShownError] = []
        self.stopping = asyncio.Event()

        self._calls: list[SlackCall] = []
        self._changed = asyncio.Condition()
        self._messages: dict[str, list[StoredMessage]] = {}
        self._ephemerals: list[EphemeralMessage] = []
        self._modal_stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._home_history: dict[str, list[JsonDict]] = {}
        self._reactions: dict[tuple[str, str], list[str]] = {}
        self._triggers: dict[str, Trigger] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._transcript: list[str] = []
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        # Socket Mode bookkeeping (see socket_mode.py).
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_changed = asyncio.Condition()
        self._socket_acks: dict[str, asyncio.Future[JsonDict]] = {}
        self.socket_connections_opened = 0

    # ------------------------------------------------------------------------------- workspace setup

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

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """Mint a trigger id, valid once and for `trigger_ttl` seconds, to embed in a signed payload."""
        n = next(self._ids)
        trigger_id = f"{n}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = Trigger(user_id, self.clock())
        return trigger_id

    def new_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """Mint a ``response_url`` for a payload: it works 5 times within 30 minutes, as on Slack."""
        if not self.url:
            raise RuntimeError("start() the fake before minting response URLs")
        key = secrets.token_urlsafe(16)
        self._response_urls[key] = ResponseUrl(channel_id, user_id, message_ts, self.clock())
        return f"{self.url}/response/{key}"

    # ------------------------------------------------------------------------- token, scopes, faults

    def revoke_token(self, error: str = "token_revoked") -> None:
        """Every later call with the bot token answers `error` (one of `TOKEN_ERRORS`); None restores it."""
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
        fault = SlackFault(method, error, times, status, channel, user)
        self.faults.append(fault)
        return fault

    def rate_limit(
        self, method: str, times: int | None = 1, retry_after: int = 1, *, channel: str | None = None
    ) -> SlackFault:
        """Answer the next `times` calls of `method` with HTTP 429 ``ratelimited`` and ``Retry-After``."""
        fault = SlackFault(method, "ratelimited", times, 429, channel, retry_after=retry_after)
        self.faults.append(fault)
        return fault

    def server_error(
        self, method: str, times: int | None = 1, status: int = 503, *, channel: str | None = None
    ) -> SlackFault:
        """Answer the next `times` calls of `method` (about `channel`, if given) with an HTTP 5xx and no
        JSON (Slack's outages)."""
        return self.fail(method, "service_unavailable", times, status=status, channel=channel)

    def timeout(self, method: str, times: int | None = 1, hold_s: float = 60.0) -> SlackFault:
        """Hold the next `times` calls of `method` for `hold_s` (past any client timeout), then 504."""
        fault = SlackFault(method, "request_timeout", times, 504, hold_s=hold_s)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        self.faults.clear()

    # ---------------------------------------------------------------------------------- recording

    @property
    def call_count(self) -> int:
        """How many calls were recorded so far; pass it as ``since`` to wait for a later call."""
        return len(self._calls)

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Recorded calls, oldest first, optionally of one method (including failed ones: check `.ok`)."""
        return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> SlackCall:
        """The most recent call of `method`; AssertionError when there was none."""
        matching = self.calls(method)
        if not matching:
            raise AssertionError(f"no {method} call recorded; seen: {self._seen()}")
        return matching[-1]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109  (the tests' familiar API; asyncio.timeout inside)
        *,
        since: int = 0,
    ) -> SlackCall:
        """Wait until a `method` call matching `predicate` is recorded (Bolt keeps working after ack).

        Calls already recorded count, from index `since` on (see `call_count`).
        """

        def find() -> SlackCall | None:
            for call in self._calls[since:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: find() is not None)
            except TimeoutError:
                raise TimeoutError(
                    f"no matching {method} call within {timeout}s; seen: {self._seen(since)}"
                ) from None
        found = find()
        assert found is not None
        return found

    def _seen(self, since: int = 0) -> str:
        return (
            ", ".join(c.method if c.ok else f"{c.method}({c.error})" for c in self._calls[since:]) or "none"
        )

    async def record(self, call: SlackCall) -> None:
        """Keep a call and wake whoever waits for one."""
        async with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def show_error(self, user: str, where: str, text: str) -> None:
        """Record what Slack showed a person instead of what the bot meant (and put it in the transcript)."""
        self.shown_errors.append(ShownError(user, where, text))
        self.show(f"[{where} for {self.who(user)}, Slack error] {text}")

    # ----------------------------------------------------------------------------- state read-back

    def messages(self, channel: str) -> list[StoredMessage]:
        """A channel's top-level messages as they stand now (thread replies excluded)."""
        return [m for m in self._messages.get(channel, []) if not m.thread_ts or m.thread_ts == m.ts]

    def replies(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        """The replies in a message's thread, oldest first."""
        return [m for m in self._messages.get(channel, []) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> StoredMessage:
        """One stored message by channel and ts; KeyError when there is none."""
        for m in self._messages.get(channel, []):
            if m.ts == ts:
                return m
        raise KeyError(f"no message {ts} in {channel}")

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[EphemeralMessage]:
        """Ephemeral messages, optionally for one channel and/or one user, oldest first."""
        return [
            e
            for e in self._ephemerals
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def view(self, view_id: str) -> StoredView:
        """A modal or Home tab by id; KeyError when unknown."""
        return self.views[view_id]

    def open_views(self, user_id: str) -> list[StoredView]:
        """The user's modal stack, bottom first (empty when no modal is open)."""
        return [self.views[v] for v in self._modal_stacks.get(user_id, [])]

    def home(self, user_id: str) -> StoredView | None:
        """The user's published Home tab, if any."""
        view_id = self._homes.get(user_id)
        return self.views[view_id] if view_id else None

    def homes_published(self, user_id: str) -> list[JsonDict]:
        """Every Home tab published for the user, oldest first, as Slack stored each (the latest is what
        `home` shows); refused publishes are not in it."""
        return list(self._home_history.get(user_id, []))

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Reaction names the bot added to a message."""
        return list(self._reactions.get((channel, ts), []))

    def transcript(self) -> str:
        """Everything shown so far, rendered as plain text, one entry per thing a person saw."""
        return "\n".join(self._transcript)

    # ------------------------------------------------------------------------------ message storage

    def next_ts(self) -> str:
        """A message ts: strictly increasing and unique, like Slack's."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def new_hash(self) -> str:
        """A view hash, new at every change (what ``views.update`` compares)."""
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def has_message(self, channel: str, ts: str) -> bool:
        """Whether `channel` holds a message `ts`."""
        return any(m.ts == ts for m in self._messages.get(channel, []))

    def store_message(
        self, channel: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> StoredMessage:
        """Keep a message the bot posted, and show it."""
        message = StoredMessage(
            channel, self.next_ts(), text, blocks, self.bot_user_id, self.bot_id, thread_ts
        )
        self._messages.setdefault(channel, []).append(message)
        where = self.where(channel)
        if thread_ts:
            where += ", in thread"
        self.show(f"[{where}] bot: {render_message(text, blocks, self)}")
        return message

    def store_ephemeral(
        self, channel: str, user: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> EphemeralMessage:
        """Keep an ephemeral message (real Slack keeps none), and show it to its one reader."""
        ephemeral = EphemeralMessage(channel, user, self.next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(ephemeral)
        self.show(f"[{self.only(channel, user)}] bot: {render_message(text, blocks, self)}")
        return ephemeral

    def edit_message(self, message: StoredMessage, text: str, blocks: list[JsonDict]) -> None:
        """Edit a message in place, and show the edit."""
        message.text, message.blocks, message.edited = text, blocks, True
        self.show(f"[{self.where(message.channel)}] bot (edited): {render_message(text, blocks, self)}")

    def delete_message(self, channel: str, ts: str) -> None:
        """Remove a message, and show that it went."""
        self._messages[channel] = [m for m in self._messages.get(channel, []) if m.ts != ts]
        self.show(f"[{self.where(channel)}] bot deleted a message")

    def open_dm(self, channel: str) -> bool:
        """Open a DM (idempotent); True when it was open already."""
        already = channel in self._messages
        self._messages.setdefault(channel, [])
        return already

    # ------------------------------------------------------------------------------------- views

    def complete_view(self, view: JsonDict, state: Any) -> JsonDict:
        """A view as Slack stores it: the bot's fields plus the defaults Slack fills in."""
        return {
            "type": view.get("type", "modal"),
            "blocks": list(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": state if isinstance(state, dict) else {"values": {}},
            **{k: v for k, v in view.items() if k not in ("state",)},
        }

    def new_view(
        self, user: str, view: JsonDict, *, root: str | None, previous: str | None = None
    ) -> StoredView:
        """Keep a new modal or Home tab for `user`."""
        view_id = f"V{next(self._ids):010d}"
        stored = StoredView(
            id=view_id,
            user=user,
            hash=self.new_hash(),
            view=self.complete_view(view, None),
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = stored
        return stored

    def push_modal(self, user: str, view: JsonDict) -> StoredView:
        """Put a view on top of the user's modal stack."""
        stack = self._modal_stacks.setdefault(user, [])
        root = self.views[stack[0]].id if stack else None
        stored = self.new_view(user, view, root=root, previous=stack[-1] if stack else None)
        stack.append(stored.id)
        return stored

    def modal_stack(self, user: str) -> list[str]:
        """The ids of the user's open modals, bottom first."""
        return self._modal_stacks.setdefault(user, [])

    def set_home(self, user: str, view: JsonDict) -> StoredView:
        """Publish (or replace) the user's Home tab."""
        existing = self.home(user)
        if existing is None:
            existing = self.new_view(user, view, root=None)
            self._homes[user] = existing.id
        else:
            existing.view, existing.hash = self.complete_view(view, None), self.new_hash()
        self._home_history.setdefault(user, []).append(existing.view)
        return existing

    def view_api(self, stored: StoredView) -> JsonDict:
        """The ``view`` object Slack returns, and echoes back in ``view_submission`` payloads."""
        return {
            **stored.view,
            "id": stored.id,
            "team_id": self.team_id,
            "hash": stored.hash,
            "root_view_id": stored.root_view_id,
            "previous_view_id": stored.previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def view_payload(self, view_id: str) -> JsonDict:
        """A stored view exactly as a ``view_submission``/``block_actions`` payload would carry it."""
        return self.view_api(self.views[view_id])

    def close_view(self, user_id: str, view_id: str | None = None) -> None:
        """Close a user's modal (or the whole stack): what Slack does after a plain submission ack."""
        stack = self._modal_stacks.get(user_id, [])
        closing = stack if view_id is None or view_id == (stack[0] if stack else None) else [view_id]
        for vid in list(closing):
            if vid in self.views:
                self.views[vid].closed = True
            if vid in stack:
                stack.remove(vid)
        if not stack:
            self._modal_stacks.pop(user_id, None)

    def apply_view_ack(self, user_id: str, view_id: str, ack_body: str) -> None:
        """Apply the bot's answer to a ``view_submission`` as Slack would (errors, update, push, clear).

        An answer Slack cannot apply (errors naming a block the view lacks, an update or push whose
        view breaks a limit) leaves the modal as it was and shows the person a generic error,
        recorded in `shown_errors`.
        """
        response: JsonDict = {}
        if ack_body.strip():
            try:
                parsed = json.loads(ack_body)
                response = parsed if isinstance(parsed, dict) else {}
            except json.JSONDecodeError:
                response = {}
        action = response.get("response_action")
        stack = self._modal_stacks.get(user_id, [])
        who = self.who(user_id)
        if action == "errors":
            errors = response.get("errors") or {}
            known = self._input_block_ids(view_id)
            unknown = [block for block in errors if known is not None and block not in known]
            if unknown or not errors:
                self.show_error(user_id, "modal", "We had some trouble connecting. Try again?")
                return
            shown = "; ".join(f"{block}: {message}" for block, message in errors.items())
            self.show(f"[modal for {who}, errors] {shown}")
        elif action in ("update", "push"):
            view = response.get("view")
            problems = (
                limits.view_errors(view) if isinstance(view, dict) else ["missing required field: view"]
            )
            if problems:
                self.show_error(user_id, "modal", "We had some trouble connecting. Try again?")
                return
            assert isinstance(view, dict)
            if action == "update" and view_id in self.views:
                stored = self.views[view_id]
                stored.view, stored.hash = self.complete_view(view, None), self.new_hash()
                self.show(f"[modal for {who}, updated] {render_view(stored.view, self)}")
            elif action == "push" and stack:
                pushed = self.push_modal(user_id, view)
                self.show(f"[modal for {who}, pushed] {render_view(pushed.view, self)}")
        elif action == "clear":
            self.close_view(user_id)
            self.show(f"[modal for {who}] closed")
        else:
            self.close_view(user_id, view_id)
            self.show(f"[modal for {who}] closed")

    def apply_options_answer(self, user_id: str, answer: str) -> None:
        """Check the bot's answer to an options request: Slack shows no options when it breaks a limit."""
        try:
            parsed = json.loads(answer) if answer.strip() else {}
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or limits.options_answer_errors(parsed):
            self.show_error(user_id, "select menu", "No options found")

    def _input_block_ids(self, view_id: str) -> set[str] | None:
        """Block ids an ``errors`` answer may name (input blocks); None for a view the fake never saw."""
        stored = self.views.get(view_id)
        if stored is None:
            return None
        blocks = stored.view.get("blocks") or []
        return {str(b.get("block_id")) for b in blocks if isinstance(b, dict) and b.get("type") == "input"}

    # ------------------------------------------------------------------------------- what people see

    def show(self, line: str) -> None:
        """Add a line to the transcript (and print it, for the demo)."""
        self._transcript.append(line)
        if self.printer is not None:
            self.printer(line)

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
