"""The bot's line to Slack while it runs: the Socket Mode connection.

It reports to `Health`, so `/healthz` says 503 with the reason while Socket Mode is down, and 200 again
once it recovers (whether Slack accepts the tokens is the Web API client's watch: `bot/slack/client.py`).
slack_sdk's own Socket Mode logging (a traceback every few
seconds while Slack is unreachable, INFO lines per session) is reduced to one WARNING line per attempt;
everything it said is still there at DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.health import Health

__all__ = ["SOCKET", "SocketModeLink"]

SOCKET = "slack_socket"

log = logging.getLogger(__name__)


_SESSION_FAILURE = re.compile(
    r"^Failed to check the current session.*\(error: \w+, message: (.*)\)\s*$", re.S
)
_RECEIVE_FAILURE = re.compile(
    r"^Failed to receive or enqueue a message: (\w*(?:Connect|Disconnect)\w*), (.*) \(s_\w+\)\s*$", re.S
)
_SSL_REPR = re.compile(r"\s*ssl:(?:<[^>]*>|default)")


def _lost_connection(message: str) -> str | None:
    """The cause, when slack_sdk's line says the WebSocket's connection is gone (not a listener's bug)."""
    if found := _SESSION_FAILURE.match(message):
        cause = found.group(1)
    elif found := _RECEIVE_FAILURE.match(message):
        cause = found.group(2)
    else:
        return None
    return _SSL_REPR.sub("", cause).strip() or "no reason given"


class _QuietSocketLogs(logging.Filter):
    """slack_sdk's Socket Mode lines, as the operator wants them unless DEBUG is on."""

    def __init__(self, retry_s: float) -> None:
        super().__init__()
        self.retry_s = retry_s

    def filter(self, record: logging.LogRecord) -> bool:
        if logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return True
        message = record.getMessage()
        if message.startswith("Failed to retrieve WSS URL"):
            return False  # the "Failed to connect" line that follows says the same
        prefix = "Failed to connect (error: "
        if message.startswith(prefix):
            cause = " ".join(message.removeprefix(prefix).removesuffix("); Retrying...").split())
            cause = _SSL_REPR.sub("", cause)
            record.msg, record.args = (
                "Socket Mode: could not connect to Slack (%s); retrying in %g s",
                (
                    cause,
                    self.retry_s,
                ),
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        elif (lost := _lost_connection(message)) is not None:
            # slack_sdk's words for a connection gone, at ERROR with session IDs and the SSL context's repr.
            record.msg, record.args = "Socket Mode: lost the connection to Slack (%s); reconnecting", (lost,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        elif record.levelno <= logging.INFO:
            return False  # sessions opened and abandoned: the health transitions say what matters
        record.exc_info, record.exc_text = None, None
        return True


class SocketModeLink:
    """Bolt's Socket Mode handler plus a watch that reports the connection to `Health` every second."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        health: Health,
        *,
        client: AsyncWebClient,
        proxy: str | None = None,
        ping_interval_s: float = 10.0,
        watch_interval_s: float = 1.0,
    ) -> None:
        logger = logging.getLogger("bot.socket_mode")
        for old in [f for f in logger.filters if isinstance(f, _QuietSocketLogs)]:
            logger.removeFilter(old)
        logger.addFilter(_QuietSocketLogs(ping_interval_s))
        self.health = health
        self.client = client
        self.handler: Any = AsyncSocketModeHandler(
            app, app_token, logger=logger, web_client=client, ping_interval=ping_interval_s
        )
        self.handler.client.proxy = proxy  # None: direct (its own reading of HTTPS_PROXY is overruled)
        self.watch_interval_s = watch_interval_s
        self._watch: asyncio.Task[None] | None = None
        health.report(SOCKET, "connecting to Slack in Socket Mode", level=logging.DEBUG)

    async def connect(self, wss_url: str | None = None) -> None:
        """Returns once the first WebSocket is open; slack_sdk reconnects by itself after that.

        `wss_url`: one `apps.connections.open` just issued (used once), so it is not asked twice."""
        if wss_url:
            self.handler.client.wss_uri = wss_url
        await self.handler.connect_async()
        self.health.clear(SOCKET)
        self._watch = asyncio.create_task(self._watch_connection(), name="socket-mode-watch")

    async def _watch_connection(self) -> None:
        while True:
            await asyncio.sleep(self.watch_interval_s)
            if await self.handler.client.is_connected():
                self.health.clear(SOCKET)
            else:
                self.health.report(
                    SOCKET, "Socket Mode is not connected to Slack (reconnecting); no command reaches the bot"
                )

    async def close(self) -> None:
        """Stops the watch, closes the WebSocket and slack_sdk's own HTTP session."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.handler.close_async()
