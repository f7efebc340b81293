"""Reading a clicked button and answering the person who clicked it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.context import SlackContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Click:
    """What a click's background work needs from Slack's payload.

    The payload holds the whole message that was clicked (every block of the card); work spawned after
    the ack keeps only this, so a burst of clicks waiting on the store does not keep thousands of parsed
    cards alive for the garbage collector to walk (BENCHMARKS.md, section 2).
    """

    user_id: str
    value: str
    channel: str | None = None
    message_ts: str | None = None
    trigger_id: str = ""
    response_url: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        return cls(
            user_id=str(body["user"]["id"]),
            value=str(action.get("value") or "")[:200],
            channel=str(channel) if channel else None,
            message_ts=str((body.get("message") or {}).get("ts") or "") or None,
            trigger_id=str(body.get("trigger_id") or ""),
            response_url=str(body.get("response_url") or "") or None,
        )

    @property
    def request_id(self) -> int | None:
        """Button values are echoed by Slack and can be forged: they carry only a number, checked later."""
        return int(self.value) if self.value.isdigit() and len(self.value) < 12 else None


async def tell_clicker(client: AsyncWebClient, click: Click, text: str) -> bool:
    """Answers the clicker only, where they clicked: an ephemeral, or, when Slack refuses it (the bot is
    not in that channel, the user cannot be reached there), the click's own `response_url`, which Slack
    honours wherever the click came from. False (and an ERROR log) when neither got through."""
    if click.channel:
        try:
            await client.chat_postEphemeral(channel=click.channel, user=click.user_id, text=text)
            return True
        except Exception as exc:
            log.warning("answer to %s's click not posted as an ephemeral: %s", click.user_id, exc)
    if click.response_url and await respond(client, click.response_url, text):
        return True
    log.error("answer to %s's click could not be delivered at all", click.user_id)
    return False


async def respond(client: AsyncWebClient, response_url: str, text: str) -> bool:
    """Posts an ephemeral answer to an interaction's `response_url` (valid 30 min, 5 uses), over the
    bot's one HTTP session. False when Slack did not take it."""
    webhook = AsyncWebhookClient(response_url, session=client.session, timeout=10)
    try:
        answer = await webhook.send(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:
        log.warning("response_url answer failed: %s", exc)
        return False
    if answer.status_code != 200:
        log.warning("response_url answer refused: HTTP %d %s", answer.status_code, answer.body[:100])
        return False
    return True


ClickWork = Callable[[SlackContext, AsyncWebClient, Click], Coroutine[Any, Any, None]]


def on_click(app: AsyncApp, ctx: SlackContext, action_id: str, work: ClickWork) -> None:
    """A button acked at once; its work runs as a background task holding only the `Click`."""

    async def listener(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        ctx.tasks.spawn(work(ctx, client, Click.of(body, action)), name=f"{action_id}-click")

    app.action(action_id)(listener)
