"""`/reset-ecs-password`: help, status, history, cancel, or the request modal."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids, sentences
from bot.slack.blocks.common import escape
from bot.slack.blocks.modals import notice_modal, request_modal, request_modal_dict
from bot.slack.context import ACK_BUDGET_S, SlackContext, slack_context
from bot.slack.forms import emergency_targets
from bot.slack.refusals import RefusalKind, classify
from bot.slack.replies import StillRunning, dm_unless_done, respond, within_ack
from bot.workflow import DirectoryUnavailable

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.command(ids.COMMAND)(reset_command)


async def reset_command(
    ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    ctx = slack_context(context)
    text = (command.get("text") or "").strip()
    user_id = str(command["user_id"])
    word, _, rest = text.partition(" ")
    word = word.lower()
    if word == "help":
        await ack(text=sentences.HELP)
    elif word in ("status", "history"):
        try:  # a read: cutting it off at the deadline leaves nothing half-done
            answer = await asyncio.wait_for(_reading(ctx, word, rest.strip(), user_id), ACK_BUDGET_S)
        except Exception as exc:
            log.warning("%s %s failed: %r", ids.COMMAND, word, exc)  # a timeout has no text of its own
            answer = sentences.REQUESTS_UNREADABLE
        await ack(text=answer)
    elif word == "cancel":
        await ack(text=await _cancel(ctx, client, rest.strip(), user_id))
    else:
        await ack()
        ctx.tasks.spawn(
            open_modal(ctx, client, user_id, str(command["trigger_id"]), text, command.get("response_url")),
            name=f"open-modal-{user_id}",
        )


async def _reading(ctx: SlackContext, word: str, arg: str, user_id: str) -> str:
    workflow = ctx.workflow
    if word == "history":
        requests = await workflow.history_for(user_id)
        if not requests:
            return sentences.NO_HISTORY
        return "\n".join(sentences.history_line(r) for r in requests)
    number = arg.partition(" ")[0].lstrip("#")
    if not number.isdigit():
        return sentences.usage(word)
    result = await workflow.status_for(int(number), user_id)
    if result.ok and result.request and result.request.outcome_message:
        return f"{result.message} {escape(result.request.outcome_message)}"
    return result.message


async def _cancel(ctx: SlackContext, client: AsyncWebClient, arg: str, user_id: str) -> str:
    """`cancel <number> [reason]`: a change, so it runs to its end in its own task (a cancel cut off
    between its move and its notices would leave a cancelled request nobody was told of)."""
    number, _, reason = arg.partition(" ")
    number = number.lstrip("#")
    if not number.isdigit():
        return sentences.usage("cancel")
    request_id = int(number)
    try:
        result = await within_ack(
            ctx,
            ctx.workflow.cancel(request_id, user_id, reason or None),
            name=f"cancel-{request_id}",
            then=dm_unless_done(ctx, client, user_id, sentences.cancel_failed(request_id)),
        )
    except StillRunning:
        log.warning("cancel of #%d by %s still being recorded at the deadline", request_id, user_id)
        return sentences.cancel_late(request_id)
    except Exception as exc:
        log.warning("%s cancel failed: %r", ids.COMMAND, exc)
        return sentences.REQUESTS_UNREADABLE
    return result.message


TRIGGER_BUDGET_S = 1.5
"""Look-ups before views.open get this much of the trigger's 3 s; then the form opens without them."""


async def open_modal(
    ctx: SlackContext,
    client: AsyncWebClient,
    user_id: str,
    trigger_id: str,
    prefill_text: str,
    response_url: str | None = None,
) -> None:
    try:
        view = await _request_form(ctx, user_id, prefill_text)
    except DirectoryUnavailable as exc:
        log.error("request form for %s: %s", user_id, exc)
        view = notice_modal("Bot misconfigured", sentences.cannot_check_requesters(exc))
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except Exception as exc:
        refusal = classify(exc, "views.open")
        if refusal.kind == RefusalKind.TRIGGER_EXPIRED:
            text = sentences.form_trigger_expired(refusal.error)
        elif refusal.kind == RefusalKind.OPERATOR_MUST_FIX:
            text = sentences.form_misconfigured(refusal.operator_sentence())
        else:
            text = sentences.form_not_opened(refusal.error)
        if response_url and await respond(client, response_url, text):
            return
        try:  # the command's response_url refused too: the bot's DM with the person still reaches them
            dm = await client.conversations_open(users=user_id)
            await client.chat_postMessage(channel=dm["channel"]["id"], text=text)
        except Exception as dm_exc:
            log.error(
                "user %s got no form and could not be told why (%s; DM: %s)", user_id, refusal.error, dm_exc
            )


async def _request_form(ctx: SlackContext, user_id: str, prefill_text: str) -> View | dict[str, Any]:
    """The form to open, within the trigger's budget; past it, every target (the submission checks
    again who may request what, so nothing is allowed that would not be)."""
    started = asyncio.get_running_loop().time()
    try:
        targets = await asyncio.wait_for(ctx.workflow.requestable_targets(user_id), TRIGGER_BUDGET_S)
    except TimeoutError:
        log.warning("who may request was not known in time for %s; the form lists every target", user_id)
        targets = ctx.workflow.target_names()
    if not targets:
        return notice_modal("Not allowed", sentences.NOT_ALLOWED_ANY_TARGET)
    hint = sentences.reason_hint(ctx.workflow.reason_hint(targets))
    budget = max(TRIGGER_BUDGET_S - (asyncio.get_running_loop().time() - started), 0.3)
    emergency = await emergency_targets(ctx, user_id, targets, budget)
    prefill = "\n".join(prefill_text.replace(",", " ").split())
    if prefill:
        return request_modal(targets, prefill=prefill, reason_hint=hint, emergency_targets=emergency)
    # The usual case: the same empty form, rendered once.
    return request_modal_dict(tuple(targets), hint, tuple(emergency))
