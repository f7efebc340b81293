"""Starting a request from anywhere: the global shortcut, and the message shortcut that reads an alert."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.modals import notice_modal
from bot.slack.context import SlackContext, slack_context
from bot.slack.forms import draft_modal, open_request_form
from bot.workflow import DraftRefused, Drafts, message_text

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.shortcut(ids.GLOBAL_SHORTCUT)(global_shortcut)
    app.shortcut(ids.MESSAGE_SHORTCUT)(message_shortcut)


async def global_shortcut(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    ctx = slack_context(context)
    user_id = str(body["user"]["id"])
    ctx.tasks.spawn(
        open_request_form(ctx, client, user_id, str(body["trigger_id"])), name=f"shortcut-{user_id}"
    )


async def message_shortcut(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    ctx = slack_context(context)
    user_id = str(body["user"]["id"])
    message = body.get("message")
    text = message_text(message) if isinstance(message, dict) else ""
    ctx.tasks.spawn(
        _open_for_message(ctx, client, user_id, str(body["trigger_id"]), text),
        name=f"message-shortcut-{user_id}",
    )


async def _open_for_message(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, trigger_id: str, text: str
) -> None:
    try:
        draft = await Drafts(ctx.workflow).from_message(user_id, text)
    except DraftRefused as refused:
        await client.views_open(trigger_id=trigger_id, view=notice_modal("Not allowed", str(refused)))
        return
    await client.views_open(trigger_id=trigger_id, view=await draft_modal(ctx, draft, user_id))
