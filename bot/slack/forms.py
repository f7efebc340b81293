"""Opening the request form: empty, pre-filled from typed names, or drawn from a workflow `Draft`."""

from __future__ import annotations

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import sentences
from bot.slack.blocks.modals import MAX_PICKED, request_modal
from bot.slack.context import SlackContext
from bot.workflow import Draft


def draft_modal(ctx: SlackContext, draft: Draft) -> View:
    """The form for a draft: its servers picked (the picker holds 100; any more are pasted by ID)."""
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
    )


async def open_request_form(
    ctx: SlackContext, client: AsyncWebClient, user_id: str, trigger_id: str, prefill_text: str = ""
) -> None:
    """The form for this user's targets, the paste box filled with `prefill_text` (names or IDs), or a
    notice saying why there is no form for them; what the command does (`commands._open_modal`)."""
    from bot.slack.commands import open_modal  # the command owns the form's refusal handling

    await open_modal(ctx, client, user_id, trigger_id, prefill_text)
