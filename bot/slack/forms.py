"""Opening the request form: empty, pre-filled from typed names, or drawn from a workflow `Draft`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import sentences
from bot.slack.blocks.modals import MAX_PICKED, request_modal
from bot.slack.context import SlackContext
from bot.workflow import Draft

log = logging.getLogger(__name__)


EMERGENCY_BUDGET_S = 0.5
"""What a drafted form (a shortcut, request again) may spend learning where its person may break glass."""


async def emergency_targets(
    ctx: SlackContext, user_id: str, targets: Sequence[str], budget_s: float
) -> list[str]:
    """Where this person may break glass, if known within `budget_s`; else none (the normal path is
    always offered; the Emergency choice only where it is known to be allowed, and checked again)."""
    try:
        return await asyncio.wait_for(ctx.workflow.break_glass_targets(user_id, list(targets)), budget_s)
    except TimeoutError:
        log.warning("break-glass for %s not known in time; the form offers no Emergency choice", user_id)
        return []


async def draft_modal(ctx: SlackContext, draft: Draft, user_id: str) -> View:
    """The form for a draft: its servers picked (the picker holds 100; any more are pasted by ID), and
    the Emergency choice where this person may break glass."""
    emergency = await emergency_targets(ctx, user_id, draft.targets, EMERGENCY_BUDGET_S)
    return request_modal(
        draft.targets,
        prefill="\n".join(sid for sid, _ in draft.servers[MAX_PICKED:]),
        reason_hint=sentences.reason_hint(
            ctx.workflow.reason_hint([draft.target] if draft.target else draft.targets)
        ),
        selected=draft.target,
        reason=draft.reason,
        notes=draft.notes,
        picked=draft.servers[:MAX_PICKED],
        emergency_targets=emergency,
    )


async def open_request_form(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, trigger_id: str, prefill_text: str = ""
) -> None:
    """The form for this user's targets, the paste box filled with `prefill_text` (names or IDs), or a
    notice saying why there is no form for them; what the command does (`commands._open_modal`)."""
    from bot.slack.commands import open_modal  # the command owns the form's refusal handling

    await open_modal(ctx, client, user_id, trigger_id, prefill_text)
