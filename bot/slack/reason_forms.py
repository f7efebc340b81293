"""A decision that needs a reason (Deny, Flag): its button opens a form after a quick pre-check, and the
form's submission decides within Slack's 3 s. Both decisions go through these two, so they answer alike."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import sentences
from bot.slack.blocks.modals import notice_modal
from bot.slack.context import SlackContext, slack_context
from bot.slack.payloads import Click, reason_submission, user_of
from bot.slack.replies import StillRunning, dm_unless_done, within_ack
from bot.workflow import ActionResult

log = logging.getLogger(__name__)

PRECHECK_WAIT_S = 2.0
"""The pre-check gets this long: the form must open while Slack's trigger lives (the submission is
checked again in full)."""


async def open_reason_form(
    client: AsyncWebClient,
    click: Click,
    *,
    precheck: Callable[[int], Awaitable[str | None]],
    form: Callable[[int], View],
    damaged: str,
    refused_title: str,
) -> None:
    """Opens `form(request_id)`, or a notice titled `refused_title` with why the clicker may not
    (`precheck`'s sentence, or `damaged` for a button without a request). A pre-check that fails or is
    slow is skipped: the submission decides."""
    request_id = click.request_id
    refusal: str | None = damaged if request_id is None else None
    if request_id is not None:
        try:
            refusal = await asyncio.wait_for(precheck(request_id), PRECHECK_WAIT_S)
        except Exception as exc:
            log.warning("pre-check of %s on #%s skipped: %s", refused_title, request_id, exc)
    if refusal or request_id is None:
        await client.views_open(trigger_id=click.trigger_id, view=notice_modal(refused_title, refusal or ""))
        return
    await client.views_open(trigger_id=click.trigger_id, view=form(request_id))


@dataclass(frozen=True)
class ReasonForm:
    """One decision's reason form: where its reason is read, and what it says besides the workflow's
    own sentences (refusals and results come from the workflow)."""

    kind: str
    """`deny`, `flag`: names the decision's task (`deny-7`) and its log lines."""
    block_id: str
    action_id: str
    """The reason field: read on submit, where a refusal or a failure is shown."""
    failed: Callable[[int], str]
    """The decision on request N raised before the deadline (nothing recorded): shown on the field."""
    failed_later: Callable[[int], str]
    """The decision on request N raised after the deadline: said in the bot's DM."""
    late_title: str
    late: str
    """The notice that replaces the form when the decision is still running at the deadline."""


Decide = Callable[[SlackContext, int, str, str], Coroutine[Any, Any, ActionResult]]
"""(context, request number, user id, reason) -> the workflow's decision."""
ViewListener = Callable[
    [AsyncAck, dict[str, Any], dict[str, Any], AsyncWebClient, AsyncBoltContext], Awaitable[None]
]


def reason_form_listener(form: ReasonForm, decide: Decide) -> ViewListener:
    """The Bolt listener of `form`'s submission: a damaged form says so, anything else is `decide`d
    and answered by `answer_reason_form`."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        ctx = slack_context(context)
        user_id = user_of(body)
        request_id, reason = reason_submission(view, form.block_id, form.action_id)
        if request_id is None:
            await ack(response_action="errors", errors={form.block_id: sentences.FORM_DAMAGED})
            return
        await answer_reason_form(
            ack, ctx, client, user_id, request_id, decide(ctx, request_id, user_id, reason), form
        )

    listener.__name__ = listener.__qualname__ = f"{form.kind}_reason"  # Bolt names the listener in its logs
    return listener


async def answer_reason_form(
    ack: AsyncAck,
    ctx: SlackContext,
    client: AsyncWebClient,
    user_id: str,
    request_id: int,
    decision: Coroutine[Any, Any, ActionResult],
    form: ReasonForm,
) -> None:
    """Answers a reason form's submission by running `decision` with `within_ack`: the form closes when
    it took effect, shows the refusal (or `form.failed`) on the reason field, or, past the deadline,
    becomes `form.late` while the decision runs on; a late refusal or failure is DMed to the person
    (the decision's task is held by `ctx.tasks` until it ends)."""
    name = f"{form.kind}-{request_id}"
    try:
        result = await within_ack(
            ctx, decision, name=name, then=dm_unless_done(ctx, client, user_id, form.failed_later(request_id))
        )
    except StillRunning:
        log.warning("%s by %s still being recorded at the deadline", name, user_id)
        await ack(response_action="update", view=notice_modal(form.late_title, form.late))
        return
    except Exception as exc:
        log.error("%s by %s failed: %s", name, user_id, exc)
        await ack(response_action="errors", errors={form.block_id: form.failed(request_id)})
        return
    if not result.ok:
        await ack(response_action="errors", errors={form.block_id: result.message})
        return
    await ack()
