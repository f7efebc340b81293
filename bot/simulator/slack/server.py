"""`FakeSlack`: the Web API, response URLs and Socket Mode on localhost, over real HTTP.

Point the bot at it with ``AsyncWebClient(base_url=fake.api_url)``. Every call goes through Slack's
own order of refusals: unknown method, the token (``not_authed``, ``invalid_auth``, a revoked or
inactive one), the scopes ``manifest.yml`` grants (``missing_scope``), scripted faults, rate-limit
tiers (when enforced), then the method's own checks against the workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Callable, Mapping

import aiohttp
from aiohttp import web

from bot.simulator.slack import faults as scripted
from bot.simulator.slack import limits
from bot.simulator.slack.answers import BotAnswers
from bot.simulator.slack.chat import ChatMethods
from bot.simulator.slack.directory import DirectoryMethods
from bot.simulator.slack.recording import CallRecord
from bot.simulator.slack.records import JsonDict, MethodError, ResponseUrl, SlackCall, as_bool
from bot.simulator.slack.render import render_message
from bot.simulator.slack.scopes import missing_scope, scopes_for
from bot.simulator.slack.socket_mode import SocketMode
from bot.simulator.slack.views import ViewMethods

Handler = Callable[[JsonDict], JsonDict]

# Arguments that form-encoded callers send as JSON strings; JSON callers send them as objects.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")


class FakeSlack(ChatMethods, ViewMethods, DirectoryMethods, SocketMode, BotAnswers, CallRecord):
    """A Slack workspace and Web API on localhost, as strict as Slack: the bot cannot tell them apart.

    Arrange the workspace with `add_user`, `add_channel`, `remove_from_channel`, `archive_channel`,
    `deactivate_user`, `revoke_token`, ``scopes=``; script faults with `fail`, `rate_limit`,
    `server_error`, `timeout`; read back `calls`, `wait_for`, `messages`, `ephemerals`, `open_views`,
    `shown_errors`, `transcript`. The constructor is `SlackState`'s.
    """

    _runner: web.AppRunner | None = None

    @functools.cached_property
    def _handlers(self) -> dict[str, Handler]:
        return {
            "api.test": lambda args: {"args": args},
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.push": self.views_push,
            "views.publish": self.views_publish,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroups_users_list,
            "reactions.add": self.reactions_add,
            "apps.connections.open": self.apps_connections_open,
        }

    # ----------------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port) and return the base URL."""
        self.stopping.clear()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/socket", self.handle_socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = next((a[1] for a in self._runner.addresses if isinstance(a, tuple)), port)
        self.url = f"http://{host}:{bound_port}"
        self.api_url = self.url + "/api/"
        return self.url

    async def stop(self) -> None:
        """Stop serving (held requests are released first); recorded calls and state stay readable."""
        self.stopping.set()
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

    # ---------------------------------------------------------------------------------- HTTP layer

    def _scope_headers(self, method: str) -> dict[str, str]:
        return {
            "x-oauth-scopes": ",".join(sorted(self.scopes)),
            "x-accepted-oauth-scopes": ",".join(scopes_for(method)),
        }

    def _fault_channel(self, args: JsonDict) -> str | None:
        channel = str(args.get("channel") or "") or None
        if channel and channel[:1] in ("U", "W"):
            return self.dm_channel(channel)
        return channel

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._read_args(request)
        token = self._token(request, args)
        now = time.time()

        async def refuse(error: MethodError, status: int = 200) -> web.Response:
            await self.record(SlackCall(method, args, now, status, error.error))
            return web.json_response(error.body(), status=status, headers=error.headers)

        if method not in self._handlers:
            return await refuse(MethodError("unknown_method", extra={"req_method": method}))
        if token is None:
            return await refuse(MethodError("not_authed"))
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return await refuse(MethodError("invalid_auth"))
        if self.token_error is not None and token == self.bot_token:
            return await refuse(MethodError(self.token_error))
        headers = self._scope_headers(method) if token == self.bot_token else {}
        needed = missing_scope(method, self.scopes)
        if needed is not None:
            provided = ",".join(sorted(self.scopes))
            error = MethodError(
                "missing_scope", extra={"needed": needed, "provided": provided}, headers=headers
            )
            return await refuse(error)
        fault = scripted.take(self.faults, method, args, self._fault_channel(args))
        if fault is not None:
            return await self._fault_answer(method, args, now, fault, headers)
        if self.enforce_rate_limits:
            wait = self.rate_limiter.check(method, self._fault_channel(args))
            if wait is not None:
                error = MethodError("ratelimited", headers={**headers, "Retry-After": str(wait)})
                return await refuse(error, 429)
        try:
            result = self._handlers[method](args)
        except MethodError as exc:
            exc.headers = {**headers, **exc.headers}
            return await refuse(exc)
        await self.record(SlackCall(method, args, now))
        return web.json_response({"ok": True, **result}, headers=headers)

    async def _fault_answer(
        self, method: str, args: JsonDict, now: float, fault: scripted.SlackFault, headers: Mapping[str, str]
    ) -> web.Response:
        await self.record(SlackCall(method, args, now, fault.status, fault.error))
        if fault.hold_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), fault.hold_s)
            return web.Response(status=fault.status, text=fault.error)
        if fault.status == 429:
            retry = {"Retry-After": str(fault.retry_after or 1)}
            return web.json_response(
                {"ok": False, "error": fault.error}, status=429, headers={**headers, **retry}
            )
        if fault.status != 200:
            return web.Response(status=fault.status, text=fault.error)
        body: JsonDict = {"ok": False, "error": fault.error}
        if fault.error == "missing_scope":
            body.update(
                needed=scopes_for(method)[0] if scopes_for(method) else "", provided=",".join(self.scopes)
            )
        return web.json_response(body, headers=headers)

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

    # ------------------------------------------------------------------------------- response URLs

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
            or entry.uses >= limits.RESPONSE_URL_USES
            or (self.clock() - entry.issued > limits.RESPONSE_URL_TTL_SECONDS)
        ):
            await self.record(SlackCall("response_url", args, now, 404, "expired_url"))
            return web.Response(status=404, text="expired_url")
        fault = scripted.take(self.faults, "response_url", args, entry.channel)
        if fault is not None:
            await self.record(SlackCall("response_url", args, now, fault.status, fault.error))
            return web.Response(status=fault.status if fault.status != 200 else 404, text=fault.error)
        problems = limits.message_block_errors(args.get("blocks") or [])
        if problems:
            await self.record(SlackCall("response_url", args, now, 400, "invalid_blocks"))
            return web.Response(status=400, text="invalid_blocks")
        entry.uses += 1
        self._apply_response(entry, args)
        await self.record(SlackCall("response_url", {**args, "_channel": entry.channel}, now))
        return web.Response(text="ok")

    def _apply_response(self, entry: ResponseUrl, args: JsonDict) -> None:
        blocks = list(args.get("blocks") or [])
        text = str(args.get("text") or "")
        if as_bool(args.get("delete_original")) and entry.message_ts:
            self.delete_message(entry.channel, entry.message_ts)
        elif as_bool(args.get("replace_original")) and entry.message_ts:
            try:
                message = self.message(entry.channel, entry.message_ts)
            except KeyError:
                return
            self.edit_message(message, text, blocks)
        elif args.get("response_type") == "in_channel":
            self.store_message(entry.channel, text, blocks, None)
        else:
            self.store_ephemeral(entry.channel, entry.user, text, blocks, None)

    def render(self, text: str, blocks: list[JsonDict]) -> str:
        """A message as the person would read it (mentions resolved against this workspace)."""
        return render_message(text, blocks, self)
