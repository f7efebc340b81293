"""Answering the person who clicked a button (the click itself is read in `payloads`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.context import SlackContext, slack_context
from bot.slack.payloads import Click

log = logging.getLogger(__name__)


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
ClickListener = Callable[
    [AsyncAck, dict[str, Any], dict[str, Any], AsyncWebClient, AsyncBoltContext], Awaitable[None]
]


def click_listener(work: ClickWork) -> ClickListener:
    """Makes a button's work a Bolt listener: the click is acked at once, and the work runs as a
    background task holding only the `Click` (Slack's 3 s never wait for the workflow)."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        ctx = slack_context(context)
        ctx.tasks.spawn(work(ctx, client, Click.of(body, action)), name=f"{action.get('action_id')}-click")

    listener.__name__ = listener.__qualname__ = work.__name__  # Bolt names the listener in its logs
    return listener
