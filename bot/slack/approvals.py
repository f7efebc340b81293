"""Approve and Deny on the approval card, and the deny-reason modal; every click is re-authorised."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Decision
from bot.slack import ids, sentences
from bot.slack.blocks.modals import deny_modal, notice_modal
from bot.slack.context import SlackContext, slack_context
from bot.slack.payloads import Click, deny_submission, user_of
from bot.slack.replies import StillRunning, click_listener, dm_unless_done, tell_clicker, within_ack
from bot.workflow import DirectoryUnavailable

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.action(ids.APPROVE_ACTION)(approve)
    app.action(ids.DENY_ACTION)(open_deny)
    app.view(ids.DENY_MODAL)(deny_reason)


async def deny_reason(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The deny modal's submission: the denial is recorded, or the modal says why it was not."""
    ctx = slack_context(context)
    user_id = user_of(body)
    request_id, reason = deny_submission(view)
    if request_id is None:
        await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: sentences.FORM_DAMAGED})
        return
    try:
        result = await within_ack(
            ctx,
            ctx.workflow.decide(request_id, user_id, Decision.DENY, reason),
            name=f"deny-{request_id}",
            then=dm_unless_done(ctx, client, user_id, sentences.DENIAL_FAILED),
        )
    except StillRunning:
        log.warning("deny of #%s by %s still being recorded at the deadline", request_id, user_id)
        await ack(response_action="update", view=notice_modal("Denial being recorded", sentences.DENIAL_LATE))
        return
    except Exception as exc:
        log.error("deny of #%s by %s failed: %s", request_id, user_id, exc)
        await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: sentences.DENIAL_NOT_RECORDED})
        return
    if not result.ok:
        await ack(response_action="errors", errors={ids.DENY_REASON_BLOCK: result.message})
        return
    await ack()


@click_listener
async def approve(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    await tell_clicker(client, click, await approve_answer(ctx, click))


async def approve_answer(ctx: SlackContext, click: Click) -> str:
    """Approves for the clicker, wherever they clicked (the card, the Home tab), with every check of the
    workflow; returns the sentence that tells them what happened."""
    request_id, user_id = click.request_id, click.user_id
    if request_id is None:
        return sentences.APPROVE_DAMAGED
    try:
        result = await ctx.workflow.decide(request_id, user_id, Decision.APPROVE)
    except DirectoryUnavailable as exc:
        log.error("approve of #%d by %s not checked: %s", request_id, user_id, exc)
        return sentences.cannot_check_approvers(exc)
    except Exception as exc:
        log.error("approve of #%d by %s failed: %s", request_id, user_id, exc)
        return sentences.approval_not_recorded(request_id)
    return result.message


@click_listener
async def open_deny(ctx: SlackContext, client: AsyncWebClient, click: Click) -> None:
    request_id, user_id, trigger_id = click.request_id, click.user_id, click.trigger_id
    refusal: str | None = sentences.DENY_DAMAGED if request_id is None else None
    if request_id is not None:
        try:
            refusal = await asyncio.wait_for(ctx.workflow.may_decide(request_id, user_id), 2.0)
        except Exception as exc:  # decide() checks again on submit; the modal must open in time
            log.warning("pre-check of deny #%s skipped: %s", request_id, exc)
    if refusal or request_id is None:
        await client.views_open(trigger_id=trigger_id, view=notice_modal("Cannot deny", refusal or ""))
        return
    await client.views_open(
        trigger_id=trigger_id,
        view=deny_modal(request_id, sentences.deny_intro(request_id)),
    )
