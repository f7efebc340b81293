"""A local fake of the Slack Web API, so the demo and every test run the real bot over real HTTP.

`FakeSlack` answers the Web API methods the bot calls (``AsyncWebClient(base_url=fake.api_url)``), keeps a
small workspace (users, user groups, channels, messages, modals), records every call for assertions, and
can inject rate limits and failures. `SlackRequests` builds the signed requests Slack would send to the
bot (slash commands and interaction payloads), so tests exercise Bolt's own signature check and parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

JsonDict = dict[str, Any]
Handler = Callable[[JsonDict], JsonDict]

# Slack's documented limits that slack_sdk.models do not check for us (see reference/slack-platform.md).
MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_MODAL_TEXT = 24
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_STACK = 3
TRIGGER_TTL_SECONDS = 3.0
FAKE_BOT_TOKEN = "xoxb-fake-bot-token"
FAKE_APP_TOKEN = "xapp-fake-app-token"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60

# Arguments that form-encoded callers send as JSON strings; JSON callers send them as objects.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received, kept so tests can assert on what the bot asked Slack to do."""

    method: str
    args: JsonDict
    ts: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the fake answered ``ok: true`` (false for injected failures, 429s and bad tokens)."""
        return self.status == 200 and self.error is None


@dataclass
class SlackUser:
    """A workspace member, as ``users.info`` describes it."""

    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False
    email: str | None = None
    deleted: bool = False

    def as_api(self, team_id: str) -> JsonDict:
        """The ``user`` object of ``users.info``."""
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "Europe/Berlin",
            "profile": {
                "real_name": real_name,
                "display_name": self.name,
                "email": self.email,
                "team": team_id,
            },
        }


@dataclass
class SlackUsergroup:
    """A user group (``@handle``) whose members the bot may resolve as approvers or requesters."""

    id: str
    handle: str
    members: list[str] = field(default_factory=list)
    name: str = ""

    def as_api(self, team_id: str, include_users: bool) -> JsonDict:
        """The ``usergroup`` object of ``usergroups.list``."""
        group: JsonDict = {
            "id": self.id,
            "team_id": team_id,
            "handle": self.handle,
            "name": self.name or self.handle,
            "is_usergroup": True,
            "date_delete": 0,
            "user_count": len(self.members),
        }
        if include_users:
            group["users"] = list(self.members)
        return group


@dataclass
class StoredMessage:
    """A message as it currently stands in a channel (``chat.update`` edits it in place)."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict]
    user: str
    bot_id: str
    thread_ts: str | None = None
    edited: bool = False

    def as_api(self) -> JsonDict:
        """The ``message`` object Slack returns and echoes back in ``block_actions`` payloads."""
        message: JsonDict = {
            "type": "message",
            "user": self.user,
            "bot_id": self.bot_id,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message


@dataclass
class EphemeralMessage:
    """An ephemeral message: shown to one user only, never stored by real Slack (kept here for tests)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JsonDict]
    thread_ts: str | None = None


@dataclass
class StoredView:
    """A modal or Home tab as it currently stands, with the hash ``views.update`` can check."""

    id: str
    user: str
    hash: str
    view: JsonDict
    root_view_id: str
    previous_view_id: str | None = None
    closed: bool = False

    @property
    def callback_id(self) -> str:
        """The callback id the bot gave the view (what a ``view_submission`` listener matches)."""
        return str(self.view.get("callback_id", ""))


@dataclass
class _Trigger:
    user: str | None
    issued: float
    used: bool = False


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    message_ts: str | None
    issued: float
    uses: int = 0


@dataclass
class _Injection:
    times: int
    error: str = ""
    status: int = 200
    retry_after: int = 0


class MethodError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _require(args: Mapping[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if value is None or value == "":
        raise MethodError(error)
    return str(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class FakeSlack:
    """A Slack workspace and Web API on localhost: the bot cannot tell it from slack.com.

    Every call is recorded (`calls`, `last`, `wait_for`); the workspace state (messages per channel,
    ephemerals per (channel, user), modals, Home tabs) can be read back; `transcript` renders what each
    person would have seen, for the demo.
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
        printer: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._socket_acks: dict[str, asyncio.Future[JsonDict]] = {}
        self.team_id = team_id
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.users: dict[str, SlackUser] = {u.id: u for u in users}
        self.users.setdefault(bot_user_id, SlackUser(bot_user_id, bot_name, bot_name, is_bot=True))
        self.usergroups: dict[str, SlackUsergroup] = {g.id: g for g in usergroups}
        self.channel_names: dict[str, str] = dict(channels or {})
        self.printer = printer
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self.url = ""
        self.api_url = ""

        self._calls: list[SlackCall] = []
        self._changed = asyncio.Condition()
        self._messages: dict[str, list[StoredMessage]] = {}
        self._ephemerals: list[EphemeralMessage] = []
        self._views: dict[str, StoredView] = {}
        self._modal_stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._reactions: dict[tuple[str, str], list[str]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._rate_limits: dict[str, _Injection] = {}
        self._failures: dict[str, _Injection] = {}
        self._transcript: list[str] = []
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "api.test": lambda args: {"args": args},
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
            "apps.connections.open": self._apps_connections_open,
        }

    # ----------------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port) and return the base URL."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = next((a[1] for a in self._runner.addresses if isinstance(a, tuple)), port)
        self.url = f"http://{host}:{bound_port}"
        self.api_url = self.url + "/api/"
        return self.url

    async def stop(self) -> None:
        """Stop serving; recorded calls and workspace state stay readable."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------------------- workspace setup

    def add_user(
        self, user_id: str, name: str, real_name: str = "", *, is_bot: bool = False, email: str | None = None
    ) -> SlackUser:
        """Add (or replace) a workspace member."""
        user = SlackUser(user_id, name, real_name, is_bot=is_bot, email=email)
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, handle: str, members: Iterable[str] = ()) -> SlackUsergroup:
        """Add (or replace) a user group."""
        group = SlackUsergroup(group_id, handle.lstrip("@"), list(members))
        self.usergroups[group_id] = group
        return group

    def name_channel(self, channel_id: str, name: str) -> None:
        """Give a channel a name, only so the transcript reads ``[#approvers]`` rather than an id."""
        self.channel_names[channel_id] = name.lstrip("#")

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D…`` id of the bot's DM with a user (what ``conversations.open`` returns)."""
        return "D" + user_id[1:] if user_id[:1] in ("U", "W") else "D" + user_id

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """Mint a trigger id, valid once and for `trigger_ttl` seconds, to embed in a signed payload."""
        n = next(self._ids)
        trigger_id = f"{n}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user_id, self.clock())
        return trigger_id

    def new_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """Mint a ``response_url`` for a payload: it works 5 times within 30 minutes, as on Slack."""
        if not self.url:
            raise RuntimeError("start() the fake before minting response URLs")
        key = secrets.token_urlsafe(16)
        self._response_urls[key] = _ResponseUrl(channel_id, user_id, message_ts, self.clock())
        return f"{self.url}/response/{key}"

    # ---------------------------------------------------------------------------- fault injection

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and ``Retry-After: retry_after``."""
        self._rate_limits[method] = _Injection(times, "ratelimited", 429, retry_after)

    def fail(self, method: str, error: str, times: int = 1, *, status: int = 200) -> None:
        """Answer the next `times` calls of `method` with ``ok: false`` and `error` (or HTTP `status`)."""
        self._failures[method] = _Injection(times, error, status)

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

    async def _record(self, call: SlackCall) -> None:
        async with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

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
        return self._views[view_id]

    def open_views(self, user_id: str) -> list[StoredView]:
        """The user's modal stack, bottom first (empty when no modal is open)."""
        return [self._views[v] for v in self._modal_stacks.get(user_id, [])]

    def home(self, user_id: str) -> StoredView | None:
        """The user's published Home tab, if any."""
        view_id = self._homes.get(user_id)
        return self._views[view_id] if view_id else None

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Reaction names the bot added to a message."""
        return list(self._reactions.get((channel, ts), []))

    def transcript(self) -> str:
        """Everything shown so far, rendered as plain text, one entry per thing a person saw."""
        return "\n".join(self._transcript)

    # ---------------------------------------------------------------------------------- Socket Mode

    def _apps_connections_open(self, args: JsonDict) -> JsonDict:
        return {"url": self.url.replace("http://", "ws://", 1) + "/socket"}

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: `hello`, then envelopes from `socket_deliver`, acks back."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets)})
        self._socket_connected.set()
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiter = self._socket_acks.pop(str(ack.get("envelope_id")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack.get("payload") or {})
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._socket_connected.clear()
        return socket

    async def socket_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Waits until a bot has opened a Socket Mode connection."""
        async with asyncio.timeout(timeout):
            await self._socket_connected.wait()

    async def socket_deliver(self, request: SignedRequest, timeout: float = 5.0) -> JsonDict:  # noqa: ASYNC109
        """Sends what `SlackRequests` built over Socket Mode instead of HTTP; returns the ack's payload."""
        await self.socket_connected(timeout)
        form = urllib.parse.parse_qs(request.body.decode())
        if "payload" in form:
            kind, payload = "interactive", json.loads(form["payload"][0])
        else:
            kind, payload = "slash_commands", {k: v[0] for k, v in form.items()}
        envelope_id = secrets.token_hex(8)
        waiter: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = waiter
        await self._sockets[0].send_json(
            {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        )
        async with asyncio.timeout(timeout):
            return await waiter

    # ---------------------------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        token = self._token(request, args)
        now = time.time()

        def answer(
            body: JsonDict, status: int = 200, headers: Mapping[str, str] | None = None
        ) -> web.Response:
            return web.json_response(body, status=status, headers=headers)

        if method not in self._handlers:
            await self._record(SlackCall(method, args, now, 200, "unknown_method"))
            return answer({"ok": False, "error": "unknown_method"})
        if token is None:
            await self._record(SlackCall(method, args, now, 200, "not_authed"))
            return answer({"ok": False, "error": "not_authed"})
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            await self._record(SlackCall(method, args, now, 200, "invalid_auth"))
            return answer({"ok": False, "error": "invalid_auth"})
        limit = self._take(self._rate_limits, method)
        if limit is not None:
            await self._record(SlackCall(method, args, now, 429, "ratelimited"))
            return answer({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(limit.retry_after)})
        failure = self._take(self._failures, method)
        if failure is not None:
            await self._record(SlackCall(method, args, now, failure.status, failure.error))
            if failure.status != 200:
                return web.Response(status=failure.status, text=failure.error)
            return answer({"ok": False, "error": failure.error})
        try:
            result = self._handlers[method](args)
        except MethodError as exc:
            await self._record(SlackCall(method, args, now, 200, exc.error))
            return answer({"ok": False, "error": exc.error})
        await self._record(SlackCall(method, args, now))
        return answer({"ok": True, **result})

    async def _read_args(self, request: web.Request) -> JsonDict:
        """Merge query string and body: slack_sdk sends params, form data or JSON depending on the method."""
        args: JsonDict = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for name in _JSON_ARGS:
            value = args.get(name)
            if isinstance(value, str) and value[:1] in ("[", "{"):
                with contextlib.suppress(json.JSONDecodeError):
                    args[name] = json.loads(value)
        return args

    @staticmethod
    def _token(request: web.Request, args: JsonDict) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :].strip()
        token = args.pop("token", None)
        return str(token) if token else None

    @staticmethod
    def _take(injections: dict[str, _Injection], method: str) -> _Injection | None:
        injection = injections.get(method)
        if injection is None or injection.times <= 0:
            return None
        injection.times -= 1
        if injection.times <= 0:
            del injections[method]
        return injection

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """What Bolt's ``respond()`` posts to: recorded as method ``response_url`` (args + ``_channel``)."""
        key = request.match_info["key"]
        try:
            payload = await request.json()
        except (json.JSONDecodeError, aiohttp.ContentTypeError):
            return web.Response(status=400, text="invalid_payload")
        args: JsonDict = payload if isinstance(payload, dict) else {}
        entry = self._response_urls.get(key)
        now = time.time()
        if (
            entry is None
            or entry.uses >= RESPONSE_URL_USES
            or (self.clock() - entry.issued > RESPONSE_URL_TTL_SECONDS)
        ):
            await self._record(SlackCall("response_url", args, now, 404, "expired_url"))
            return web.Response(status=404, text="expired_url")
        entry.uses += 1
        self._apply_response(entry, args)
        await self._record(SlackCall("response_url", {**args, "_channel": entry.channel}, now))
        return web.Response(text="ok")

    def _apply_response(self, entry: _ResponseUrl, args: JsonDict) -> None:
        blocks = list(args.get("blocks") or [])
        text = str(args.get("text") or "")
        if _as_bool(args.get("delete_original")) and entry.message_ts:
            self._messages[entry.channel] = [
                m for m in self._messages.get(entry.channel, []) if m.ts != entry.message_ts
            ]
            self._show(f"[{self._where(entry.channel)}] bot deleted a message")
        elif _as_bool(args.get("replace_original")) and entry.message_ts:
            try:
                message = self.message(entry.channel, entry.message_ts)
            except KeyError:
                return
            message.text, message.blocks, message.edited = text, blocks, True
            self._show(f"[{self._where(entry.channel)}] bot (edited): {render_message(text, blocks, self)}")
        elif args.get("response_type") == "in_channel":
            self._store_message(entry.channel, text, blocks, None)
        else:
            self._store_ephemeral(entry.channel, entry.user, text, blocks, None)

    # ------------------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args)
        text, blocks = self._content(args, MAX_MESSAGE_BLOCKS)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts is not None and not self._has(channel, thread_ts):
            raise MethodError("thread_not_found")
        message = self._store_message(channel, text, blocks, thread_ts)
        return {"channel": channel, "ts": message.ts, "message": message.as_api()}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        if not self._has(channel, ts):
            raise MethodError("message_not_found")
        message = self.message(channel, ts)
        text, blocks = self._content(args, MAX_MESSAGE_BLOCKS)
        message.text, message.blocks, message.edited = text, blocks, True
        self._show(f"[{self._where(channel)}] bot (edited): {render_message(text, blocks, self)}")
        return {"channel": channel, "ts": ts, "text": text, "message": message.as_api()}

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args)
        user = _require(args, "user", "user_not_found")
        if user not in self.users:
            raise MethodError("user_not_found")
        text, blocks = self._content(args, MAX_MESSAGE_BLOCKS)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        ephemeral = self._store_ephemeral(channel, user, text, blocks, thread_ts)
        return {"message_ts": ephemeral.ts}

    def _store_ephemeral(
        self, channel: str, user: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> EphemeralMessage:
        ephemeral = EphemeralMessage(channel, user, self._next_ts(), text, blocks, thread_ts)
        self._ephemerals.append(ephemeral)
        self._show(f"[{self._only(channel, user)}] bot: {render_message(text, blocks, self)}")
        return ephemeral

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        if not self._has(channel, ts):
            raise MethodError("message_not_found")
        self._messages[channel] = [m for m in self._messages[channel] if m.ts != ts]
        self._show(f"[{self._where(channel)}] bot deleted a message")
        return {"channel": channel, "ts": ts}

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        if args.get("channel"):
            return {"channel": {"id": str(args["channel"])}, "no_op": True, "already_open": True}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise MethodError("users_list_not_supplied")
        for user in users:
            if user not in self.users:
                raise MethodError("user_not_found")
        if len(users) == 1:
            channel_id = self.dm_channel(users[0])
        else:
            channel_id = "G" + "".join(sorted(u[1:4] for u in users)).upper()
        already = channel_id in self._messages
        self._messages.setdefault(channel_id, [])
        return {"channel": {"id": channel_id}, "no_op": already, "already_open": already}

    def _views_open(self, args: JsonDict) -> JsonDict:
        trigger = self._use_trigger(args)
        view = self._view_arg(args)
        user = trigger.user or str(args.get("user_id") or "")
        stored = self._new_view(user, view, root=None)
        self._modal_stacks[user] = [stored.id]
        self._show(f"[modal for {self._who(user)}] {render_view(stored.view, self)}")
        return {"view": self._view_api(stored)}

    def _views_push(self, args: JsonDict) -> JsonDict:
        trigger = self._use_trigger(args)
        view = self._view_arg(args)
        user = trigger.user or ""
        stack = self._modal_stacks.get(user, [])
        if not stack:
            raise MethodError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise MethodError("push_limit_reached")
        stored = self._new_view(user, view, root=self._views[stack[0]].id, previous=stack[-1])
        stack.append(stored.id)
        self._show(f"[modal for {self._who(user)}, pushed] {render_view(stored.view, self)}")
        return {"view": self._view_api(stored)}

    def _views_update(self, args: JsonDict) -> JsonDict:
        view = self._view_arg(args)
        stored: StoredView | None = None
        if args.get("view_id"):
            stored = self._views.get(str(args["view_id"]))
        elif args.get("external_id"):
            stored = next(
                (v for v in self._views.values() if v.view.get("external_id") == args["external_id"]), None
            )
        else:
            raise MethodError("invalid_arguments")
        if stored is None or stored.closed:
            raise MethodError("not_found")
        if args.get("hash") and args["hash"] != stored.hash:
            raise MethodError("hash_conflict")
        stored.view = self._complete_view(view, stored.view.get("state"))
        stored.hash = self._new_hash()
        self._show(f"[modal for {self._who(stored.user)}, updated] {render_view(stored.view, self)}")
        return {"view": self._view_api(stored)}

    def _views_publish(self, args: JsonDict) -> JsonDict:
        user = _require(args, "user_id", "invalid_arguments")
        if user not in self.users:
            raise MethodError("user_not_found")
        view = self._view_arg(args, modal=False)
        existing = self.home(user)
        if existing is not None and args.get("hash") and args["hash"] != existing.hash:
            raise MethodError("hash_conflict")
        if existing is None:
            existing = self._new_view(user, view, root=None)
            self._homes[user] = existing.id
        else:
            existing.view, existing.hash = self._complete_view(view, None), self._new_hash()
        self._show(f"[Home tab of {self._who(user)}] {render_view(existing.view, self)}")
        return {"view": self._view_api(existing)}

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self.users.get(str(args.get("user") or ""))
        if user is None:
            raise MethodError("user_not_found")
        return {"user": user.as_api(self.team_id)}

    def _users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if user.email and user.email.lower() == email:
                return {"user": user.as_api(self.team_id)}
        raise MethodError("users_not_found")

    def _usergroups_list(self, args: JsonDict) -> JsonDict:
        include_users = _as_bool(args.get("include_users", False))
        return {"usergroups": [g.as_api(self.team_id, include_users) for g in self.usergroups.values()]}

    def _usergroups_users_list(self, args: JsonDict) -> JsonDict:
        group = self.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise MethodError("no_such_subteam")
        return {"users": list(group.members)}

    def _reactions_add(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "timestamp", "message_not_found")
        name = _require(args, "name", "invalid_name")
        if not self._has(channel, ts):
            raise MethodError("message_not_found")
        names = self._reactions.setdefault((channel, ts), [])
        if name in names:
            raise MethodError("already_reacted")
        names.append(name)
        return {}

    # ------------------------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        """A message ts: strictly increasing and unique, like Slack's."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _has(self, channel: str, ts: str) -> bool:
        return any(m.ts == ts for m in self._messages.get(channel, []))

    def _channel(self, args: JsonDict) -> str:
        channel = _require(args, "channel", "channel_not_found")
        # Posting to a user id lands in the app's DM with that user, as on Slack.
        if channel[:1] in ("U", "W"):
            if channel not in self.users:
                raise MethodError("channel_not_found")
            channel = self.dm_channel(channel)
        return channel

    @staticmethod
    def _content(args: JsonDict, max_blocks: int) -> tuple[str, list[JsonDict]]:
        text = str(args.get("text") or "")
        blocks = args.get("blocks") or []
        if not isinstance(blocks, list):
            raise MethodError("invalid_blocks_format")
        if not text and not blocks and not args.get("attachments"):
            raise MethodError("no_text")
        if len(blocks) > max_blocks:
            raise MethodError("invalid_blocks")
        return text, [b for b in blocks if isinstance(b, dict)]

    def _store_message(
        self, channel: str, text: str, blocks: list[JsonDict], thread_ts: str | None
    ) -> StoredMessage:
        message = StoredMessage(
            channel, self._next_ts(), text, blocks, self.bot_user_id, self.bot_id, thread_ts
        )
        self._messages.setdefault(channel, []).append(message)
        where = self._where(channel)
        if thread_ts:
            where += ", in thread"
        self._show(f"[{where}] bot: {render_message(text, blocks, self)}")
        return message

    def _use_trigger(self, args: JsonDict) -> _Trigger:
        trigger_id = str(args.get("trigger_id") or "")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise MethodError("invalid_trigger_id")
        if trigger.used or self.clock() - trigger.issued > self.trigger_ttl:
            raise MethodError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _view_arg(self, args: JsonDict, *, modal: bool = True) -> JsonDict:
        view = args.get("view")
        if not isinstance(view, dict):
            raise MethodError("invalid_arguments")
        if modal:
            if view.get("type") != "modal":
                raise MethodError("invalid_arguments")
            for key in ("title", "submit", "close"):
                part = view.get(key)
                if isinstance(part, dict) and len(str(part.get("text", ""))) > MAX_MODAL_TEXT:
                    raise MethodError("invalid_arguments")
            if not isinstance(view.get("title"), dict):
                raise MethodError("invalid_arguments")
        if len(view.get("blocks") or []) > MAX_MODAL_BLOCKS:
            raise MethodError("invalid_arguments")
        if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
            raise MethodError("invalid_arguments")
        return view

    def _complete_view(self, view: JsonDict, state: Any) -> JsonDict:
        return {
            "type": view.get("type", "modal"),
            "blocks": list(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": state if isinstance(state, dict) else {"values": {}},
            **{k: v for k, v in view.items() if k not in ("state",)},
        }

    def _new_view(
        self, user: str, view: JsonDict, *, root: str | None, previous: str | None = None
    ) -> StoredView:
        view_id = f"V{next(self._ids):010d}"
        stored = StoredView(
            id=view_id,
            user=user,
            hash=self._new_hash(),
            view=self._complete_view(view, None),
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self._views[view_id] = stored
        return stored

    def _view_api(self, stored: StoredView) -> JsonDict:
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
        return self._view_api(self._views[view_id])

    def close_view(self, user_id: str, view_id: str | None = None) -> None:
        """Close a user's modal (or the whole stack): what Slack does after a plain submission ack."""
        stack = self._modal_stacks.get(user_id, [])
        closing = stack if view_id is None or view_id == (stack[0] if stack else None) else [view_id]
        for vid in list(closing):
            if vid in self._views:
                self._views[vid].closed = True
            if vid in stack:
                stack.remove(vid)
        if not stack:
            self._modal_stacks.pop(user_id, None)

    def apply_view_ack(self, user_id: str, view_id: str, ack_body: str) -> None:
        """Apply the bot's answer to a ``view_submission`` as Slack would (errors, update, push, clear)."""
        response: JsonDict = {}
        if ack_body.strip():
            try:
                parsed = json.loads(ack_body)
                response = parsed if isinstance(parsed, dict) else {}
            except json.JSONDecodeError:
                response = {}
        action = response.get("response_action")
        stack = self._modal_stacks.get(user_id, [])
        if action == "errors":
            errors = response.get("errors") or {}
            shown = "; ".join(f"{block}: {message}" for block, message in errors.items())
            self._show(f"[modal for {self._who(user_id)}, errors] {shown}")
        elif action == "update" and isinstance(response.get("view"), dict) and view_id in self._views:
            stored = self._views[view_id]
            stored.view, stored.hash = self._complete_view(response["view"], None), self._new_hash()
            self._show(f"[modal for {self._who(user_id)}, updated] {render_view(stored.view, self)}")
        elif action == "push" and isinstance(response.get("view"), dict) and stack:
            pushed = self._new_view(user_id, response["view"], root=stack[0], previous=stack[-1])
            stack.append(pushed.id)
            self._show(f"[modal for {self._who(user_id)}, pushed] {render_view(pushed.view, self)}")
        elif action == "clear":
            self.close_view(user_id)
            self._show(f"[modal for {self._who(user_id)}] closed")
        else:
            self.close_view(user_id, view_id)
            self._show(f"[modal for {self._who(user_id)}] closed")

    def _show(self, line: str) -> None:
        self._transcript.append(line)
        if self.printer is not None:
            self.printer(line)

    def _who(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return f"@{user.name}" if user else user_id

    def _only(self, channel: str, user: str) -> str:
        """Where an ephemeral shows: "DM @ann, only you" or "#general, only @ann"."""
        who = "you" if channel == self.dm_channel(user) else self._who(user)
        return f"{self._where(channel)}, only {who}"

    def _where(self, channel: str) -> str:
        if channel.startswith("D"):
            owner = next((u for u in self.users if self.dm_channel(u) == channel), None)
            return f"DM {self._who(owner)}" if owner else f"DM {channel}"
        name = self.channel_names.get(channel)
        return f"#{name}" if name else f"#{channel}"


# --------------------------------------------------------------------------------- Block Kit text

_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")


def _plain(text: Any, slack: FakeSlack | None = None) -> str:
    """Text of a text object or string, with ``<@U…>`` mentions turned into names."""
    if isinstance(text, dict):
        text = text.get("text", "")
    value = str(text or "")

    def mention(match: re.Match[str]) -> str:
        kind, target, label = match.group(1), match.group(2), match.group(3)
        if label:
            return ("@" if kind == "@" else "#" if kind == "#" else "") + label
        if kind == "@" and slack is not None:
            return slack._who(target)
        if kind == "#" and slack is not None:
            return slack._where(target)
        return kind + target if kind != "!" else "@" + target

    return _MENTION.sub(mention, value)


def _element(element: JsonDict, slack: FakeSlack | None) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[{_plain(element.get('text'), slack)}]"
    if kind in ("mrkdwn", "plain_text"):
        return _plain(element, slack)
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind.endswith("select") or kind == "overflow":
        return f"[{_plain(element.get('placeholder') or kind, slack)} ▾]"
    if kind in ("plain_text_input", "rich_text_input", "number_input", "email_text_input", "url_text_input"):
        return "[____]"
    if kind in ("checkboxes", "radio_buttons"):
        return " ".join(f"( ) {_plain(o.get('text'), slack)}" for o in element.get("options") or [])
    return f"[{kind}]"


def render_blocks(blocks: Iterable[JsonDict], slack: FakeSlack | None = None) -> list[str]:
    """Block Kit as roughly the lines a person would read; good enough for a demo transcript."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"*{_plain(block.get('text'), slack)}*")
        elif kind == "section":
            text = _plain(block.get("text"), slack)
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                text = f"{text} {_element(accessory, slack)}".strip()
            if text:
                lines.append(text)
            fields = [_plain(f, slack) for f in block.get("fields") or []]
            if fields:
                lines.append(" | ".join(fields))
        elif kind == "context":
            lines.append("  " + "  ".join(_element(e, slack) for e in block.get("elements") or []))
        elif kind == "actions":
            lines.append(" ".join(_element(e, slack) for e in block.get("elements") or []))
        elif kind == "divider":
            lines.append("---")
        elif kind == "input":
            element = block.get("element") if isinstance(block.get("element"), dict) else {}
            lines.append(f"{_plain(block.get('label'), slack)}: {_element(element or {}, slack)}")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines.append(_rich_text(block))
        else:
            lines.append(f"[{kind}]")
    return lines


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if "text" in node and isinstance(node["text"], str):
            return node["text"]
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    return ""


def render_message(text: str, blocks: list[JsonDict], slack: FakeSlack | None = None) -> str:
    """A message as plain text: its blocks when it has any (Slack shows those), else its text."""
    if not blocks:
        return _plain(text, slack)
    return "\n    ".join(render_blocks(blocks, slack))


def render_view(view: Mapping[str, Any], slack: FakeSlack | None = None) -> str:
    """A modal as plain text: title, blocks, then its buttons."""
    lines = [f"{_plain(view.get('title'), slack)}"] if view.get("title") else []
    lines += render_blocks(view.get("blocks") or [], slack)
    buttons = [f"[{_plain(view[k], slack)}]" for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines.append(" ".join(buttons))
    return "\n    ".join(lines)


# ----------------------------------------------------------------------------- signed requests


class SignedRequest(NamedTuple):
    """A request body and headers as Slack sends them; unpacks as ``body, headers``."""

    body: bytes
    headers: dict[str, str]


class SlackRequests:
    """Builds signed requests to the bot, shaped as Slack sends them, so Bolt verifies and parses them.

    Pass ``slack=`` (a started FakeSlack) to mint real trigger ids and response URLs by default and to
    let `deliver` apply modal answers to the fake's state.
    """

    def __init__(
        self,
        signing_secret: str,
        *,
        slack: FakeSlack | None = None,
        team_id: str | None = None,
        team_domain: str | None = None,
        api_app_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.slack = slack
        self.team_id = team_id or (slack.team_id if slack else "T0FAKETEAM")
        self.team_domain = team_domain or (slack.team_domain if slack else "fake-workspace")
        self.api_app_id = api_app_id or (slack.app_id if slack else "A0FAKEAPP")
        self.clock = clock

    # ---------------------------------------------------------------------------------- plumbing

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Headers Slack adds: a timestamp and ``v0=`` HMAC-SHA256 signature over ``v0:ts:body``."""
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }

    def interaction(self, payload: Mapping[str, Any], timestamp: int | None = None) -> SignedRequest:
        """Any interaction payload, form-encoded as ``payload=<json>`` and signed."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return SignedRequest(body, self.sign(body, timestamp))

    def _trigger(self, trigger_id: str | None, user_id: str) -> str:
        if trigger_id is not None:
            return trigger_id
        if self.slack is not None:
            return self.slack.new_trigger_id(user_id)
        return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _response_url(
        self, response_url: str | None, channel_id: str, user_id: str, message_ts: str | None = None
    ) -> str:
        if response_url is not None:
            return response_url
        if self.slack is not None and self.slack.url:
            return self.slack.new_response_url(channel_id, user_id, message_ts)
        return f"https://hooks.slack.com/actions/{self.team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"

    def _user(self, user_id: str) -> JsonDict:
        name = user_id
        if self.slack is not None and user_id in self.slack.users:
            name = self.slack.users[user_id].name
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _base(self, kind: str, user_id: str) -> JsonDict:
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _full_view(self, view: Mapping[str, Any], values: Mapping[str, Any] | None) -> JsonDict:
        """A view as Slack echoes it: the stored one when the fake knows its id, completed otherwise."""
        full: JsonDict
        if self.slack is not None and view.get("id") in self.slack._views:
            full = self.slack.view_payload(str(view["id"]))
            full.update({k: v for k, v in view.items() if k not in ("id", "hash")})
        else:
            full = {
                "id": f"V{secrets.randbelow(10**10):010d}",
                "team_id": self.team_id,
                "type": "modal",
                "blocks": [],
                "private_metadata": "",
                "callback_id": "",
                "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
                "previous_view_id": None,
                "app_id": self.api_app_id,
                "external_id": "",
                "app_installed_team_id": self.team_id,
                "bot_id": "B0FAKEBOT",
                **dict(view),
            }
            full.setdefault("root_view_id", full["id"])
        state = full.get("state") if isinstance(full.get("state"), dict) else {"values": {}}
        if values is not None:
            state = {"values": dict(values)}
        full["state"] = state
        return full

    # ---------------------------------------------------------------------------------- requests

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
        response_url: str | None = None,
        channel_name: str = "general",
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A slash command: a form-encoded body, as Slack posts it to the command's URL."""
        form = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(response_url, channel_id, user_id),
            "trigger_id": self._trigger(trigger_id, user_id),
        }
        body = urllib.parse.urlencode(form).encode()
        return SignedRequest(body, self.sign(body, timestamp))

    def block_actions(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str = "actions",
        channel_id: str | None = None,
        message_ts: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        action_type: str = "button",
        text: str = "",
        selected_option: Mapping[str, Any] | None = None,
        state_values: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A click (or select) on a message (give channel_id + message_ts) or in a modal (give view)."""
        action: JsonDict = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": f"{self.clock():.6f}",
        }
        if action_type == "button":
            action["text"] = {"type": "plain_text", "text": text or action_id, "emoji": True}
            if value is not None:
                action["value"] = value
        elif selected_option is not None:
            action["selected_option"] = dict(selected_option)
        elif value is not None:
            action["value"] = value
        payload = self._base("block_actions", user_id)
        payload["trigger_id"] = self._trigger(trigger_id, user_id)
        payload["actions"] = [action]
        if view is not None:
            full = self._full_view(view, state_values)
            payload["container"] = {"type": "view", "view_id": full["id"]}
            payload["view"] = full
        else:
            if channel_id is None or message_ts is None:
                raise ValueError("a message action needs channel_id and message_ts (or pass view=)")
            found = message
            if found is None and self.slack is not None:
                try:
                    found = self.slack.message(channel_id, message_ts).as_api()
                except KeyError:
                    found = None
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {
                "id": channel_id,
                "name": "directmessage" if channel_id[:1] == "D" else channel_id,
            }
            payload["message"] = dict(found) if found is not None else {"type": "message", "ts": message_ts}
            payload["state"] = {"values": dict(state_values or {})}
            payload["response_url"] = self._response_url(response_url, channel_id, user_id, message_ts)
        return self.interaction(payload, timestamp)

    def view_submission(
        self,
        *,
        user_id: str,
        view: Mapping[str, Any],
        values: Mapping[str, Any] | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A modal submitted: `view` carries callback_id, private_metadata and state (or pass values)."""
        payload = self._base("view_submission", user_id)
        payload["trigger_id"] = self._trigger(trigger_id, user_id)
        payload["view"] = self._full_view(view, values)
        payload["response_urls"] = []
        return self.interaction(payload, timestamp)

    def view_closed(
        self, *, user_id: str, view: Mapping[str, Any], is_cleared: bool = False, timestamp: int | None = None
    ) -> SignedRequest:
        """A modal closed with its Cancel button (sent only when the view has notify_on_close)."""
        payload = self._base("view_closed", user_id)
        payload["view"] = self._full_view(view, None)
        payload["is_cleared"] = is_cleared
        return self.interaction(payload, timestamp)

    def block_suggestion(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        view: Mapping[str, Any] | None = None,
        block_id: str = "servers",
        timestamp: int | None = None,
    ) -> SignedRequest:
        """An options request from an external select as the user types (`value` is the typed text)."""
        payload = self._base("block_suggestion", user_id)
        payload.update({"action_id": action_id, "block_id": block_id, "value": value})
        if view is not None:
            full = self._full_view(view, None)
            payload["container"] = {"type": "view", "view_id": full["id"]}
            payload["view"] = full
        return self.interaction(payload, timestamp)

    async def deliver(
        self, url: str, request: SignedRequest, session: aiohttp.ClientSession | None = None
    ) -> tuple[int, str]:
        """POST a signed request to the bot and return (status, body).

        With a linked FakeSlack, a modal submission's answer is applied as Slack would (errors shown,
        view updated or pushed, modal closed), and a command's non-empty answer is shown to its user.
        """
        own = session is None
        client = session or aiohttp.ClientSession()
        try:
            async with client.post(url, data=request.body, headers=request.headers) as response:
                status, text = response.status, await response.text()
        finally:
            if own:
                await client.close()
        if self.slack is not None and status == 200:
            self._apply(request, text)
        return status, text

    def _apply(self, request: SignedRequest, answer: str) -> None:
        form = urllib.parse.parse_qs(request.body.decode())
        slack = self.slack
        assert slack is not None
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            if payload.get("type") == "view_submission":
                slack.apply_view_ack(payload["user"]["id"], payload["view"]["id"], answer)
        elif "command" in form and answer.strip():
            try:
                parsed = json.loads(answer)
                shown = render_message(str(parsed.get("text") or ""), list(parsed.get("blocks") or []), slack)
            except (json.JSONDecodeError, AttributeError):
                shown = answer
            user, channel = form["user_id"][0], form["channel_id"][0]
            slack._show(f"[{slack._only(channel, user)}] bot: {shown}")
