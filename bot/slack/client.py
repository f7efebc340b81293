"""The bot's one Slack Web API client: every refusal is classified, counted, and kept as workspace health.

Subclasses slack_sdk's AsyncWebClient at its single door (`api_call`), so Bolt's own calls, Socket Mode's
`apps.connections.open` and the bot's are watched alike and nothing else changes: errors still raise as
slack_sdk raises them. It is the one token watch: a token Slack refuses is a named problem in `Health`
(/healthz answers 503 with it) until Slack accepts that token again, which it asks by itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.clock import SYSTEM_CLOCK, Clock
from bot.health import Health
from bot.metrics import SLACK_CHANNEL_UNUSABLE, SLACK_REFUSALS, SLACK_TOKEN_REFUSED
from bot.probes import TOKEN_ERRORS, Refused, token_advice
from bot.slack.refusals import Refusal, RefusalKind, classify

log = logging.getLogger(__name__)

PROBE_EVERY_S = 5.0
"""While Slack refuses the token, /healthz asks auth.test again at most this often (it recovers alone)."""
BOT_TOKEN, APP_TOKEN = "slack_bot_token", "slack_app_token"
"""The `Health` components of the two tokens (`apps.connections.open` is the app-level token's call)."""


@dataclass
class SlackHealth:
    """What Slack refuses right now: the token (every call then fails) and channels the bot cannot use.

    A refused token (bot or app-level) is also reported to `readiness`, the bot's `Health`, by name.
    `clock` paces the probes of a refused token (its `monotonic()`)."""

    readiness: Health = field(default_factory=Health)
    clock: Clock = SYSTEM_CLOCK
    token_refusal: Refusal | None = None
    channels: dict[str, Refusal] = field(default_factory=dict)
    _probed_at: float = float("-inf")

    def problems(self) -> dict[str, str]:
        """Operator-facing sentences, keyed by what is broken ("token", or a channel ID)."""
        found = {}
        if self.token_refusal is not None:
            found["token"] = self.token_refusal.operator_sentence()
        for channel, refusal in sorted(self.channels.items()):
            found[channel] = refusal.operator_sentence()
        return found

    def note_refusal(self, refusal: Refusal, channel: str | None) -> None:
        if refusal.installation_broken and refusal.error != "missing_scope":
            app_token = refusal.method == "apps.connections.open"
            component, variable = (
                (APP_TOKEN, "SLACK_APP_TOKEN") if app_token else (BOT_TOKEN, "SLACK_BOT_TOKEN")
            )
            cause = TOKEN_ERRORS.get(refusal.error, "Slack refused the token")
            self.readiness.report(
                component, token_advice(variable, Refused(refusal.error, cause)), level=logging.ERROR
            )
            if not app_token:
                self.token_refusal = refusal
                SLACK_TOKEN_REFUSED.set(1)
        elif refusal.channel_unusable and channel:
            if channel not in self.channels and self.readiness.logs_changes:
                log.error("channel %s is unusable: %s", channel, refusal.operator_sentence())
            self.channels[channel] = refusal
            SLACK_CHANNEL_UNUSABLE.labels(channel).set(1)

    def note_success(self, method: str, channel: str | None) -> None:
        if method == "apps.connections.open":
            self.readiness.clear(APP_TOKEN)
        elif self.token_refusal is not None or BOT_TOKEN in self.readiness.problems():
            self.token_refusal = None
            SLACK_TOKEN_REFUSED.set(0)
            self.readiness.clear(BOT_TOKEN)  # logs that it recovered
        if channel and channel in self.channels and method in ("chat.postMessage", "chat.update"):
            log.warning("channel %s works again", channel)
            del self.channels[channel]
            SLACK_CHANNEL_UNUSABLE.labels(channel).set(0)

    def probe_due(self) -> bool:
        now = self.clock.monotonic()
        if self.token_refusal is None or now - self._probed_at < PROBE_EVERY_S:
            return False
        self._probed_at = now
        return True


class WatchedWebClient(AsyncWebClient):
    """AsyncWebClient that classifies and counts every refusal and keeps `health` up to date; `clock`
    (the runtime's) paces its probes of a refused token."""

    def __init__(
        self, *args: Any, readiness: Health | None = None, clock: Clock = SYSTEM_CLOCK, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Without the bot's Health (a one-off check, e.g. start-up's token checks), refusals are the
        # caller's to report: its own Health stays silent.
        self.health = SlackHealth(readiness or Health(log_changes=False), clock=clock)

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | aiohttp.FormData | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        channel = _channel_of(json, data, params)
        try:
            response = await super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
        except Exception as exc:
            refusal = classify(exc, api_method)
            SLACK_REFUSALS.labels(api_method, refusal.error, refusal.kind.value).inc()
            self.health.note_refusal(refusal, channel)
            if refusal.kind == RefusalKind.BOT_FAULT:
                log.error("Slack rejected %s: %s (a bug in what the bot sent)", api_method, refusal.error)
            raise
        self.health.note_success(api_method, channel)
        return response

    async def probe(self) -> None:
        """auth.test when the token was refused and a probe is due; a success clears the refusal."""
        if self.health.probe_due():
            try:
                await self.auth_test()
            except Exception as exc:
                log.info("Slack still refuses the token: %s", classify(exc, "auth.test").error)

    async def recheck_refused_token(self, interval_s: float = 30.0) -> None:
        """Runs until cancelled: while Slack refuses the bot token, `probe` every `interval_s`, so a fixed
        token shows as recovered even when nothing else calls Slack (nobody can use a bot whose token is
        refused) and nobody reads /healthz."""
        while True:
            await asyncio.sleep(interval_s)
            await self.probe()


def _channel_of(*sources: Any) -> str | None:
    for source in sources:
        if isinstance(source, dict) and source.get("channel"):
            return str(source["channel"])
    return None
