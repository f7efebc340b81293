"""The requester's buttons in the bot's DM: Cancel, and the one-time Reveal of the password."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import RevealOutcome
from bot.logs import registered_secret
from bot.slack import ids, sentences
from bot.slack.blocks.dm import reveal_done
from bot.slack.blocks.modals import notice_modal, reveal_modal
from bot.slack.context import SlackContext
from bot.slack.payloads import Click
from bot.slack.replies import click_listener, tell_clicker
from bot.workflow import DeliveredSecret, NotShown, RevealResult, ShowSecrets

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.action(ids.CANCEL_ACTION)(cancel)
    app.action(ids.REVEAL_ACTION)(reveal)


@click_listener
async def cancel(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    request_id = click.request_id
    if request_id is None:
        await tell_clicker(client, click, sentences.CANCEL_DAMAGED)
        return
    result = await ctx.workflow.cancel(request_id, click.user_id)
    if not result.ok:
        await tell_clicker(client, click, result.message)


@click_listener
async def reveal(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    result = await ctx.workflow.reveal(click.value, click.user_id, shown_in_modal(client, click.trigger_id))
    if result.outcome == RevealOutcome.REVEALED and result.request_id is not None:
        ctx.home.mark(click.user_id)  # its Home tab's Reveal button goes
        if click.channel and click.message_ts:
            try:
                await client.chat_update(
                    channel=click.channel,
                    ts=click.message_ts,
                    text=sentences.PASSWORD_REVEALED,
                    blocks=reveal_done(result.request_id, ctx.clock.now()),
                )
            except Exception as exc:  # the reveal happened; a stale button only answers "already revealed"
                log.warning("reveal offer of #%d not marked revealed: %s", result.request_id, exc)
        return
    await answer_unrevealed(client, click, result, lambda text: tell_clicker(client, click, text))


def shown_in_modal(client: AsyncWebClient, trigger_id: str) -> ShowSecrets:
    """Shows the password(s) in the one-time modal opened with the click's trigger; raises NotShown with
    Slack's error code when Slack did not open it (the reveal then stays usable)."""

    async def show(request_id: int, secrets: Sequence[DeliveredSecret]) -> None:
        # The executor forgot these passwords when it finished; slack_sdk logs request bodies at DEBUG.
        with contextlib.ExitStack() as masked:
            for secret in secrets:
                masked.enter_context(registered_secret(secret.password))
            try:
                await client.views_open(trigger_id=trigger_id, view=reveal_modal(request_id, secrets))
            except SlackApiError as exc:  # only Slack's error code leaves: its answer echoes no view
                raise NotShown(str(exc.response.get("error") or "slack_error")) from None

    return show


async def answer_unrevealed(
    client: AsyncWebClient, click: Click, result: RevealResult, tell: Callable[[str], Awaitable[object]]
) -> None:
    """Tells the clicker why nothing was revealed: a modal when the trigger still works, else `tell`."""
    if result.outcome == RevealOutcome.NOT_SHOWN:
        await tell(sentences.reveal_not_shown(result.request_id, result.expires_at))
        return
    text = sentences.REVEAL_REFUSALS[result.outcome]
    try:
        await client.views_open(trigger_id=click.trigger_id, view=notice_modal("Nothing to reveal", text))
    except Exception as exc:
        log.warning("reveal notice for %s not opened: %s", click.user_id, exc)
        await tell(text)
