"""The request modal: server typeahead, and the submission with its inline errors."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import RequestRecord
from bot.slack import ids, sentences
from bot.slack.blocks.breakglass import confirmation
from bot.slack.blocks.modals import notice_modal, server_option_dict
from bot.slack.context import ACK_BUDGET_S, SlackContext, slack_context
from bot.slack.payloads import (
    input_value,
    parse_submission,
    selected_value,
    submission_key,
    user_of,
    view_values,
)
from bot.slack.replies import ShuttingDown, StillRunning, within_ack
from bot.workflow import BreakGlassRefused, CheckedSubmission, Field, InventoryUnavailable

log = logging.getLogger(__name__)

FIELD_BLOCKS = {
    Field.TARGET: ids.TARGET_BLOCK,
    Field.SERVERS: ids.SERVERS_BLOCK,
    Field.REASON: ids.REASON_BLOCK,
    Field.PASSWORD_MODE: ids.MODE_BLOCK,
    Field.REBOOT: ids.REBOOT_BLOCK,
}
OPTIONS_WAIT_S = 1.5
"""A cold server list may take longer to load than Slack waits for options: answer empty in time
(the list keeps loading, and the next keystroke is served from it)."""
REPLAY_LOOKUP_WAIT_S = 0.5
"""At most this much of the answer's budget goes to asking whether a submission is a replay."""
MIN_RECORD_WAIT_S = 0.2
"""The least time recording gets before the answer, even when the checks used up the budget."""


def still_recording_modal() -> View:
    return notice_modal("Request being recorded", sentences.STILL_RECORDING)


async def _report_late(
    ctx: SlackContext,
    client: AsyncWebClient,
    user_id: str,
    target: str,
    recording: asyncio.Task[RequestRecord],
) -> None:
    """After a "still recording" answer: a recorded request gets the workflow's DM with its number
    (pre-flight announces it); a failed recording, which created nothing, gets this DM."""
    await asyncio.wait({recording})
    if recording.cancelled() or recording.exception() is None:
        return  # recorded and announced, or cut off by shutdown (the next start recovers what exists)
    error = recording.exception()
    text = str(error) if isinstance(error, BreakGlassRefused) else sentences.late_failure(target)
    await client.chat_postMessage(channel=await ctx.notifier.dm_channel(user_id), text=text)


async def recorded_before(ctx: SlackContext, key: str | None) -> RequestRecord | None:
    """The request the submission of modal `key` (`payloads.submission_key`) already made (a replay), so
    it is answered without being checked again. A look-up that fails or is slow counts as none:
    recording then meets the submission key's unique index, which still makes no second request."""
    if key is None:
        return None
    try:
        return await asyncio.wait_for(ctx.workflow.request_for_submission(key), REPLAY_LOOKUP_WAIT_S)
    except Exception as exc:
        log.warning("could not look up earlier submissions of %s: %s", key, exc)
        return None


def register(app: AsyncApp) -> None:
    app.view(ids.REQUEST_MODAL)(submit_request)
    app.options(ids.SERVERS_ACTION)(server_options)


async def submit_request(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The request modal's submission: inline errors, or the request recorded within Slack's 3 s."""
    ctx = slack_context(context)
    user_id = user_of(body)
    values = view_values(view)
    submission, errors = parse_submission(user_id, values, submission_key(view))
    if submission is None:
        await ack(response_action="errors", errors=errors)
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACK_BUDGET_S
    earlier = await recorded_before(ctx, submission.submission_key)
    if earlier is not None:
        # Answered as the first was (the modal closes); the request, its card and DM exist already.
        log.warning("modal %s submitted again by %s: it is request #%d", view.get("id"), user_id, earlier.id)
        await ack()
        return
    # 1. The checks write nothing: cancelling them at the deadline leaves nothing behind.
    try:
        checked, check_errors = await asyncio.wait_for(ctx.workflow.check(submission), deadline - loop.time())
    except Exception as exc:
        log.error("submission by %s could not be checked: %s", user_id, exc)
        await ack(response_action="errors", errors={ids.REASON_BLOCK: sentences.NOT_CHECKED})
        return
    if checked is None:
        block_errors = {FIELD_BLOCKS[f]: msg for f, msg in check_errors.items()}
        if ids.SERVERS_BLOCK in block_errors and not input_value(
            values, ids.SERVERS_BLOCK, ids.SERVERS_ACTION
        ).get("selected_options"):
            block_errors[ids.PASTE_BLOCK] = block_errors.pop(ids.SERVERS_BLOCK)
        await ack(response_action="errors", errors={k: v[:2000] for k, v in block_errors.items()})
        return
    if checked.submission.break_glass:
        # Only the confirmation's submission creates it (bot/slack/breakglass.py). The checked submission
        # waits in the store; the confirmation carries its key, whatever the number of servers.
        try:
            budget = max(deadline - loop.time(), MIN_RECORD_WAIT_S)
            key = await asyncio.wait_for(ctx.workflow.hold_break_glass(checked), budget)
        except Exception as exc:
            log.error("break-glass confirmation for %s could not be kept: %s", user_id, exc)
            await ack(response_action="errors", errors={ids.REASON_BLOCK: sentences.BREAK_GLASS_NOT_HELD})
            return
        await ack(response_action="push", view=confirmation(checked, ctx.notifier.audit_channel, key))
        return
    refused = await record_in_time(ctx, client, user_id, checked, deadline)
    if refused is None:
        await ack()
    elif refused == RECORDING_LATE:
        await ack(response_action="update", view=still_recording_modal())
    else:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: refused})


RECORDING_LATE = "late"


async def record_in_time(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, checked: CheckedSubmission, deadline: float
) -> str | None:
    """Records a checked submission, answering by `deadline` (loop time): None when it is recorded,
    `RECORDING_LATE` when it is still being recorded (the person gets a DM either way), or the sentence
    saying why nothing was recorded."""
    loop = asyncio.get_running_loop()
    try:
        await within_ack(
            ctx,
            ctx.workflow.record(checked),
            name=f"record-{user_id}",
            budget_s=max(deadline - loop.time(), MIN_RECORD_WAIT_S),
            then=partial(_report_late, ctx, client, user_id, checked.submission.target),
        )
    except StillRunning:
        log.warning("request of %s still being recorded at the deadline; answered so", user_id)
        return RECORDING_LATE
    except ShuttingDown:  # nothing was started
        return sentences.NOT_RECORDED
    except BreakGlassRefused as exc:
        return str(exc)
    except Exception as exc:
        log.error("submission by %s could not be recorded: %s", user_id, exc)
        return sentences.NOT_RECORDED
    return None


async def server_options(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """The server picker's typeahead: the target's servers matching what was typed."""
    ctx = slack_context(context)
    user_id = user_of(body)
    target = selected_value(view_values(body.get("view") or {}), ids.TARGET_BLOCK, ids.TARGET_ACTION)
    try:
        options = await ctx.workflow.search_servers(
            user_id,
            target,
            str(body.get("value") or ""),
            server_option_dict,
            limit=100,
            max_wait_s=OPTIONS_WAIT_S,
        )
    except InventoryUnavailable as exc:
        log.warning("server search on %s failed: %s", target, exc)
        await ack(options=[])
        return
    note = await ctx.workflow.search_note(user_id, target)
    if note and options:  # the label says the list misses servers; the options stay as they are
        await ack(option_groups=[{"label": {"type": "plain_text", "text": note}, "options": options}])
        return
    await ack(options=options)
