"""Approve and Deny on the approval card, and the deny-reason modal; every click is re-authorised."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Decision
from bot.slack import ids, sentences
from bot.slack.blocks.modals import deny_modal
from bot.slack.context import SlackContext
from bot.slack.payloads import Click
from bot.slack.reason_forms import ReasonForm, open_reason_form, reason_form_listener
from bot.slack.replies import click_listener, tell_clicker
from bot.workflow import DirectoryUnavailable

log = logging.getLogger(__name__)

DENY_FORM = ReasonForm(
    kind="deny",
    block_id=ids.DENY_REASON_BLOCK,
    action_id=ids.DENY_REASON_ACTION,
    failed=lambda _: sentences.DENIAL_NOT_RECORDED,
    failed_later=lambda _: sentences.DENIAL_FAILED,
    late_title="Denial being recorded",
    late=sentences.DENIAL_LATE,
)
deny_reason = reason_form_listener(
    DENY_FORM,
    lambda ctx, request_id, user_id, reason: ctx.workflow.decide(request_id, user_id, Decision.DENY, reason),
)
"""The deny modal's submission: the denial is recorded, or the modal says why it was not."""


def register(app: AsyncApp) -> None:
    app.action(ids.APPROVE_ACTION)(approve)
    app.action(ids.DENY_ACTION)(open_deny)
    app.view(ids.DENY_MODAL)(deny_reason)


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
    """Deny asks for a reason first; who may deny is checked before the form opens, and again on submit."""
    await open_reason_form(
        client,
        click,
        precheck=lambda request_id: ctx.workflow.may_decide(request_id, click.user_id),
        form=lambda request_id: deny_modal(request_id, sentences.deny_intro(request_id)),
        damaged=sentences.DENY_DAMAGED,
        refused_title="Cannot deny",
    )
