"""`/reset-ecs-password`: help, status, history, cancel, or the request modal."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import ids
from bot.slack.blocks.modals import notice_modal, request_modal, request_modal_dict
from bot.slack.context import ACK_BUDGET_S, SlackContext
from bot.workflow import STATUS_WORDS

log = logging.getLogger(__name__)

HELP = (
    "*/reset-ecs-password* resets the login password of ECS servers after approval.\n"
    "• `/reset-ecs-password [server names or IDs]`: open the request form (pre-filled)\n"
    "• `/reset-ecs-password status <id>`: where a request stands\n"
    "• `/reset-ecs-password history`: your last requests\n"
    "• `/reset-ecs-password cancel <id>`: cancel a request that is not approved yet\n"
    "The new password comes to you privately in my DM."
)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    @app.command(ids.COMMAND)
    async def reset_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        text = (command.get("text") or "").strip()
        user_id = str(command["user_id"])
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word == "help":
            await ack(text=HELP)
        elif word in ("status", "cancel", "history"):
            try:
                answer = await asyncio.wait_for(_subcommand(ctx, word, rest.strip(), user_id), ACK_BUDGET_S)
            except Exception as exc:
                log.warning("/%s %s failed: %s", ids.COMMAND, word, exc)
                answer = (
                    "I could not read the requests right now; nothing was changed. Try again in a minute."
                )
            await ack(text=answer)
        else:
            await ack()
            ctx.tasks.spawn(
                _open_modal(ctx, client, user_id, str(command["trigger_id"]), text),
                name=f"open-modal-{user_id}",
            )


async def _subcommand(ctx: SlackContext, word: str, arg: str, user_id: str) -> str:
    workflow = ctx.workflow
    if word == "history":
        requests = await workflow.history_for(user_id)
        if not requests:
            return "You have no requests yet."
        return "\n".join(
            f"#{r.id} {r.target}: {STATUS_WORDS[r.status]} ({r.created_at:%Y-%m-%d %H:%M} UTC)"
            for r in requests
        )
    number = arg.lstrip("#")
    if not number.isdigit():
        return f"Usage: `{ids.COMMAND} {word} <request number>`"
    if word == "status":
        result = await workflow.status_for(int(number), user_id)
        if result.ok and result.request and result.request.outcome_message:
            return f"{result.message} {result.request.outcome_message}"
        return result.message
    return (await workflow.cancel(int(number), user_id)).message


async def _open_modal(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, trigger_id: str, prefill_text: str
) -> None:
    targets = await ctx.workflow.requestable_targets(user_id)
    if not targets:
        view = notice_modal(
            "Not allowed",
            "You may not request password resets for any target. "
            "Ask the bot's operator to add you to a target's requesters.",
        )
    else:
        pattern = ctx.workflow.reason_hint(targets)
        hint = f"Must match {pattern}" if pattern else None
        prefill = "\n".join(prefill_text.replace(",", " ").split())
        if prefill:
            view = request_modal(targets, prefill=prefill, reason_hint=hint)
        else:  # the usual case: the same empty form every time, rendered once
            await client.views_open(trigger_id=trigger_id, view=request_modal_dict(tuple(targets), hint))
            return
    await client.views_open(trigger_id=trigger_id, view=view)
