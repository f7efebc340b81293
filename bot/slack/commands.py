"""`/reset-ecs-password`: the sub-commands (one table, `SUB_COMMANDS`), or the request modal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    sub_command = SUB_COMMANDS.get(word.lower())
    if sub_command is not None:
        await ack(text=await sub_command.answer(ctx, client, rest.strip(), user_id))
        return
    await ack()
    ctx.tasks.spawn(
        open_modal(ctx, client, user_id, str(command["trigger_id"]), text, command.get("response_url")),
        name=f"open-modal-{user_id}",
    )


Answer = Callable[[SlackContext, AsyncWebClient, str, str], Awaitable[str]]
"""A sub-command's answer: (ctx, client, the text after the word, user id) -> the reply to `ack` with."""


@dataclass(frozen=True, slots=True)
class SubCommand:
    """A word after the command: what answers it, and its line in `help` (`usage` after the command,
    `does` after a colon; no line when `does` is None)."""

    answer: Answer
    usage: str
    does: str | None


async def _help(ctx: SlackContext, client: AsyncWebClient, arg: str, user_id: str) -> str:
    return HELP


def _read(word: str, read: Callable[[SlackContext, str, str], Awaitable[str]]) -> Answer:
    """The answer of a sub-command that only reads, cut off at the ack deadline (a read cut off leaves
    nothing half-done); a failure or timeout says the requests could not be read."""

    async def answer(ctx: SlackContext, client: AsyncWebClient, arg: str, user_id: str) -> str:
        try:
            return await asyncio.wait_for(read(ctx, arg, user_id), ACK_BUDGET_S)
        except Exception as exc:
            log.warning("%s %s failed: %r", ids.COMMAND, word, exc)  # a timeout has no text of its own
            return sentences.REQUESTS_UNREADABLE

    return answer


async def _status(ctx: SlackContext, arg: str, user_id: str) -> str:
    number = arg.partition(" ")[0].lstrip("#")
    if not number.isdigit():
        return sentences.usage("status")
    result = await ctx.workflow.status_for(int(number), user_id)
    if result.ok and result.request and result.request.outcome_message:
        return f"{result.message} {escape(result.request.outcome_message)}"
    return result.message


async def _history(ctx: SlackContext, arg: str, user_id: str) -> str:
    requests = await ctx.workflow.history_for(user_id)
    if not requests:
        return sentences.NO_HISTORY
    return "\n".join(sentences.history_line(r) for r in requests)


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


#: The one list of sub-commands (the word, lower case): the dispatch and `help` read it; tests check that
#: manifest.yml's usage_hint and README.md, written by hand, name exactly these words. Any other text opens
#: the request form.
SUB_COMMANDS: dict[str, SubCommand] = {
    "help": SubCommand(_help, "help", None),
    "status": SubCommand(_read("status", _status), "status <id>", "where a request stands"),
    "history": SubCommand(_read("history", _history), "history", "your last requests"),
    "cancel": SubCommand(
        _cancel,
        "cancel <id> [reason]",
        "cancel a request that is not approved yet (an approver cancelling someone else's request gives "
        "the reason)",
    ),
}

HELP = sentences.help_text((c.usage, c.does) for c in SUB_COMMANDS.values() if c.does is not None)


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
