""" "Request again for these servers": a finished request's failed servers, back in a new form."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids, sentences
from bot.slack.blocks.modals import notice_modal
from bot.slack.context import SlackContext
from bot.slack.forms import draft_modal
from bot.slack.payloads import Click
from bot.slack.replies import click_listener
from bot.workflow import DraftRefused, Drafts


def register(app: AsyncApp) -> None:
    app.action(ids.AGAIN_ACTION)(again)


@click_listener
async def again(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    request_id = click.request_id
    try:
        if request_id is None:
            raise DraftRefused(sentences.AGAIN_DAMAGED)
        draft = await Drafts(ctx.workflow).again(request_id, click.user_id)
    except DraftRefused as refused:
        await client.views_open(
            trigger_id=click.trigger_id, view=notice_modal("Cannot request again", str(refused))
        )
        return
    await client.views_open(trigger_id=click.trigger_id, view=await draft_modal(ctx, draft, click.user_id))
