"""Answering a person in time: the clicker of a button (the click itself is read in `payloads`), and
work that must not be cut off by Slack's 3 s (`within_ack`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.context import ACK_BUDGET_S, SlackContext, slack_context
from bot.slack.payloads import Click
from bot.workflow import ActionResult

log = logging.getLogger(__name__)

T = TypeVar("T")


async def tell_clicker(client: AsyncWebClient, click: Click, text: str) -> bool:
    """Answers the clicker only, where they clicked: an ephemeral, or, when Slack refuses it (the bot is
    not in that channel, the user cannot be reached there), the click's own `response_url`, which Slack
    honours wherever the click came from. False (and an ERROR log) when neither got through."""
    if click.channel:
        try:
            await client.chat_postEphemeral(channel=click.channel, user=click.user_id, text=text)
            return True
        except Exception as exc:
            log.warning("answer to %s's click not posted as an ephemeral: %s", click.user_id, exc)
    if click.response_url and await respond(client, click.response_url, text):
        return True
    log.error("answer to %s's click could not be delivered at all", click.user_id)
    return False


async def respond(client: AsyncWebClient, response_url: str, text: str) -> bool:
    """Posts an ephemeral answer to an interaction's `response_url` (valid 30 min, 5 uses), over the
    bot's one HTTP session. False when Slack did not take it."""
    webhook = AsyncWebhookClient(response_url, session=client.session, timeout=10)
    try:
        answer = await webhook.send(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:
        log.warning("response_url answer failed: %s", exc)
        return False
    if answer.status_code != 200:
        log.warning("response_url answer refused: HTTP %d %s", answer.status_code, answer.body[:100])
        return False
    return True


ClickWork = Callable[[SlackContext, AsyncWebClient, Click], Coroutine[Any, Any, None]]
ClickListener = Callable[
    [AsyncAck, dict[str, Any], dict[str, Any], AsyncWebClient, AsyncBoltContext], Awaitable[None]
]


def click_listener(work: ClickWork) -> ClickListener:
    """Makes a button's work a Bolt listener: the click is acked at once, and the work runs as a
    background task holding only the `Click` (Slack's 3 s never wait for the workflow)."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        ctx = slack_context(context)
        ctx.tasks.spawn(work(ctx, client, Click.of(body, action)), name=f"{action.get('action_id')}-click")

    listener.__name__ = listener.__qualname__ = work.__name__  # Bolt names the listener in its logs
    return listener


class ShuttingDown(RuntimeError):
    """The bot no longer starts work (it is stopping): nothing was started."""


class StillRunning(Exception):
    """The work outlived the answer's budget; it goes on in its own task (see `within_ack`)."""


Follow = Callable[[asyncio.Task[T]], Coroutine[Any, Any, None]]


async def within_ack(
    ctx: SlackContext,
    work: Coroutine[Any, Any, T],
    *,
    name: str,
    budget_s: float = ACK_BUDGET_S,
    then: Follow[T] | None = None,
) -> T:
    """Runs `work` to its end in its own task and waits for it at most `budget_s` seconds, so Slack
    gets its answer in time while a decision is never cut off half-way (a denied request with no
    audit row or notice).

    Returns what `work` returned and raises what it raised. Raises `ShuttingDown` (nothing started)
    when the bot is stopping, and `StillRunning` when the budget ran out: the task goes on, held by
    `ctx.tasks` (so it is not garbage-collected and its failure is logged), and `then(task)`, when
    given, is spawned beside it as `<name>-late` to follow it (e.g. to DM an outcome nobody saw)."""
    task = ctx.tasks.spawn(work, name=name)
    if task is None:
        raise ShuttingDown(name)
    done, _ = await asyncio.wait({task}, timeout=budget_s)
    if not done:
        if then is not None:
            ctx.tasks.spawn(then(task), name=f"{name}-late")
        raise StillRunning(name)
    return task.result()


def dm_unless_done(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, failed: str
) -> Follow[ActionResult]:
    """A `then` for a decision answered "still being recorded": one that took effect shows where it
    acts (the card, the requester's DM); one that did not (refused, settled meanwhile) is told to
    `user_id` in the bot's DM with the workflow's sentence, and one that failed with `failed`."""

    async def follow(task: asyncio.Task[ActionResult]) -> None:
        await asyncio.wait({task})
        if task.cancelled():
            return
        error = task.exception()
        if error is None and task.result().ok:
            return
        text = task.result().message if error is None else failed
        await client.chat_postMessage(channel=await ctx.notifier.dm_channel(user_id), text=text)

    return follow
