"""The Home tab: published when someone opens it, and its buttons (New request, Approve, Acknowledge,
Cancel, Reveal).

A click on the Home tab has no message to answer in and no `response_url`: its answer is a notice on
top of the Home tab, published at once, or a DM when Slack refuses that, so nobody is left guessing.
Approve, Acknowledge and Cancel go through the same workflow calls as the card's and the DM's buttons;
Deny and Flag are the card's own buttons (the same reason forms); Reveal is the DM's one-time reveal, by
request number.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import RevealOutcome
from bot.slack import ids, sentences
from bot.slack.approvals import approve_answer
from bot.slack.blocks.dm import reveal_done
from bot.slack.breakglass import acknowledge_answer
from bot.slack.context import SlackContext, slack_context
from bot.slack.delivery import answer_unrevealed, shown_in_modal
from bot.slack.forms import open_request_form
from bot.slack.payloads import Click
from bot.slack.replies import click_listener

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(opened)
    app.action(ids.HOME_NEW_REQUEST_ACTION)(new_request)
    app.action(ids.HOME_APPROVE_ACTION)(approve)
    app.action(ids.HOME_CANCEL_ACTION)(cancel)
    app.action(ids.HOME_REVEAL_ACTION)(reveal)
    app.action(ids.HOME_ACKNOWLEDGE_ACTION)(acknowledge)


async def opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """`app_home_opened` (also sent for the Messages tab, which has nothing to publish): the Home tab as
    it stands, published in the background so Slack gets its 200 at once."""
    user_id = str(event.get("user") or "")
    if event.get("tab") != "home" or not user_id:
        return
    ctx = slack_context(context)
    ctx.tasks.spawn(ctx.home.publish(user_id), name=f"home-open-{user_id}")


async def tell_on_home(ctx: SlackContext, client: AsyncWebClient, user_id: str, text: str) -> None:
    """The answer to a Home click: on top of the Home tab, else in the bot's DM, else an ERROR log."""
    if await ctx.home.publish(user_id, text):
        return
    try:
        await client.chat_postMessage(channel=await ctx.notifier.dm_channel(user_id), text=text)
    except Exception as exc:
        log.error("answer to %s's Home tab click reached them nowhere: %s", user_id, exc)


@click_listener
async def new_request(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    await open_request_form(ctx, client, click.user_id, click.trigger_id)


@click_listener
async def approve(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    await tell_on_home(ctx, client, click.user_id, await approve_answer(ctx, click))


@click_listener
async def acknowledge(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    await tell_on_home(ctx, client, click.user_id, await acknowledge_answer(ctx, click))


@click_listener
async def cancel(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    if click.request_id is None:
        await tell_on_home(ctx, client, click.user_id, sentences.HOME_DAMAGED)
        return
    result = await ctx.workflow.cancel(click.request_id, click.user_id)
    await tell_on_home(ctx, client, click.user_id, result.message)


@click_listener
async def reveal(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    if click.request_id is None:
        await tell_on_home(ctx, client, click.user_id, sentences.HOME_DAMAGED)
        return
    result = await ctx.workflow.reveal_request(
        click.request_id, click.user_id, shown_in_modal(client, click.trigger_id)
    )
    if result.outcome == RevealOutcome.REVEALED:
        await ctx.home.publish(click.user_id)  # its Reveal button goes
        await _mark_offer_revealed(ctx, client, click.request_id)
        return

    async def tell(text: str) -> None:
        await tell_on_home(ctx, client, click.user_id, text)

    await answer_unrevealed(client, click, result, tell)


async def _mark_offer_revealed(ctx: SlackContext, client: AsyncWebClient, request_id: int) -> None:
    """The DM's Reveal offer says it was used, as when its own button is clicked (a stale button would
    only answer "already revealed")."""
    try:
        view = await ctx.workflow.view(request_id)
        offer = ctx.notifier.reveal_offer(view) if view is not None else None
        if offer is not None:
            await client.chat_update(
                channel=offer.channel_id,
                ts=offer.message_ts,
                text=sentences.PASSWORD_REVEALED,
                blocks=reveal_done(request_id, ctx.clock.now()),
            )
    except Exception as exc:  # the reveal happened; the offer's button answers "already revealed"
        log.warning("reveal offer of #%d not marked revealed: %s", request_id, exc)
