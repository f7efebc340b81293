"""Break-glass listeners: the confirmation that creates the request, and Acknowledge / Flag on its card.

The form's Emergency choice is read with the rest of the form (`requests`), which has the workflow hold
the checked submission and pushes the confirmation carrying only its key; the confirmation's submission
here takes the submission back (once, its owner only, before it expires, on any replica) and checks it
again in full, on fresh facts, before anything is created.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids, sentences
from bot.slack.blocks.modals import flag_modal, notice_modal
from bot.slack.context import ACK_BUDGET_S, SlackContext, slack_context
from bot.slack.payloads import Click, submission_key, user_of
from bot.slack.reason_forms import ReasonForm, open_reason_form, reason_form_listener
from bot.slack.replies import click_listener, tell_clicker
from bot.slack.requests import RECORDING_LATE, record_in_time, recorded_before, still_recording_modal
from bot.workflow import Review

log = logging.getLogger(__name__)

NOT_RUN = sentences.BREAK_GLASS_NOT_RUN


def register(app: AsyncApp) -> None:
    app.view(ids.BREAK_GLASS_MODAL)(confirm)
    app.action(ids.ACKNOWLEDGE_ACTION)(acknowledge)
    app.action(ids.FLAG_ACTION)(open_flag)
    app.view(ids.FLAG_MODAL)(flag)


async def confirm(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The confirmation submitted: the held submission taken back by its key, every check again (who
    may break glass, now; the cooldown; the servers; the reason), then the request is recorded and both
    views close. A key unknown, expired, used or someone else's creates nothing and says so."""
    ctx = slack_context(context)
    user_id = user_of(body)
    key = submission_key(view)
    if await recorded_before(ctx, key) is not None:
        await ack(response_action="clear")  # a replay: answered as the first was
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACK_BUDGET_S
    held = str(view.get("private_metadata") or "")
    try:
        taken = await asyncio.wait_for(
            ctx.workflow.take_break_glass(held, user_id, submission_key=key), deadline - loop.time()
        )
    except Exception as exc:
        log.error("break-glass confirmation by %s could not be taken: %s", user_id, exc)
        await ack(response_action="update", view=notice_modal(NOT_RUN, sentences.BREAK_GLASS_NOT_CHECKED))
        return
    if taken.submission is None:
        if taken.used and await recorded_before(ctx, key) is not None:
            await ack(response_action="clear")  # a double click the first copy recorded meanwhile
            return
        await ack(response_action="update", view=notice_modal(NOT_RUN, taken.refusal or NOT_RUN))
        return
    try:
        checked, errors = await asyncio.wait_for(ctx.workflow.check(taken.submission), deadline - loop.time())
    except Exception as exc:
        log.error("break-glass confirmation by %s could not be checked: %s", user_id, exc)
        checked, errors = None, {}
    if checked is None:
        why = " ".join(errors.values()) or sentences.BREAK_GLASS_NOT_CHECKED
        await ack(response_action="update", view=notice_modal(NOT_RUN, why[:2900]))
        return
    refused = await record_in_time(ctx, client, user_id, checked, deadline)
    if refused is None:
        await ack(response_action="clear")
    elif refused == RECORDING_LATE:
        await ack(response_action="update", view=still_recording_modal())
    else:
        await ack(response_action="update", view=notice_modal(NOT_RUN, refused))


@click_listener
async def acknowledge(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    """Acknowledge on a break-glass card: the clicker is told the outcome (the card shows it)."""
    await tell_clicker(client, click, await acknowledge_answer(ctx, click))


async def acknowledge_answer(ctx: SlackContext, click: Click) -> str:
    """Acknowledges for the clicker, wherever they clicked (the card, the Home tab), with every check of
    the workflow; returns the sentence that tells them what happened."""
    if click.request_id is None:
        return sentences.ACKNOWLEDGE_DAMAGED
    try:
        return (await ctx.workflow.review(click.request_id, click.user_id, Review.ACKNOWLEDGE)).message
    except Exception as exc:
        log.error("acknowledge of #%d by %s failed: %s", click.request_id, click.user_id, exc)
        return sentences.review_not_recorded(click.request_id)


@click_listener
async def open_flag(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    """Flag asks for a reason first; who may flag is checked before the form opens, and again on submit."""
    await open_reason_form(
        client,
        click,
        precheck=lambda request_id: ctx.workflow.may_review(request_id, click.user_id, Review.FLAG),
        form=flag_modal,
        damaged=sentences.FLAG_DAMAGED,
        refused_title="Cannot flag",
    )


FLAG_FORM = ReasonForm(
    kind="flag",
    block_id=ids.FLAG_REASON_BLOCK,
    action_id=ids.FLAG_REASON_ACTION,
    failed=sentences.review_not_recorded,
    failed_later=sentences.review_not_recorded,
    late_title="Flag being recorded",
    late=sentences.FLAG_LATE,
)
flag = reason_form_listener(
    FLAG_FORM,
    lambda ctx, request_id, user_id, reason: ctx.workflow.review(request_id, user_id, Review.FLAG, reason),
)
"""The flag reason submitted: the request is marked disputed, or the form says why not."""
