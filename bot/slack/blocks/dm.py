"""What the requester sees in the bot's DM: status with Cancel, the password, and the Reveal button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.slack import ids
from bot.slack.blocks.common import (
    MESSAGE_BLOCK_LIMIT,
    context,
    escape,
    markdown,
    secret_sections,
    server_lines,
    slack_date,
    status_line,
)
from bot.slack.blocks.summary import again_button, cancel_button, request_name
from bot.workflow import OPEN_STATUSES, DeliveredSecret, RequestView


def requester_status(view: RequestView) -> list[Block]:
    r = view.request
    blocks: list[Block] = [
        markdown(
            f"Your password reset request {request_name(r)} "
            f"({len(view.servers)} server(s))\n{status_line(r.status)}"
        ),
        markdown(f"*Servers*\n{server_lines(view.servers)}"),
    ]
    if r.outcome_message:
        blocks.append(context(escape(r.outcome_message)))
    again = again_button(view)
    if again is not None:
        blocks.append(ActionsBlock(block_id=f"again-{r.id}", elements=[again]))
    if r.status in OPEN_STATUSES:
        blocks.append(
            ActionsBlock(
                block_id=f"cancel-{r.id}",
                elements=[cancel_button(r.id, action_id=ids.CANCEL_ACTION, text="Cancel request")],
            )
        )
    return blocks


def ephemeral_passwords(request_id: int, secrets: Sequence[DeliveredSecret]) -> list[list[Block]]:
    """The ephemeral copy, in as many messages as 50 blocks each need: Slack does not store it, and may
    not show it, hence the Reveal fallback."""
    sections = secret_sections(secrets)
    per_message = MESSAGE_BLOCK_LIMIT - 1
    messages: list[list[Block]] = []
    for start in range(0, len(sections), per_message):
        part = f" (part {start // per_message + 1})" if len(sections) > per_message else ""
        header = markdown(f":key: New password(s) for request *#{request_id}*{part} (only you see this):")
        messages.append([header, *sections[start : start + per_message]])
    return messages


def reveal_offer(request_id: int, token: str, expires_at: datetime) -> list[Block]:
    return [
        markdown(
            f":lock: The new password(s) for request *#{request_id}* are ready. If you did not see them "
            "above, reveal them once here."
        ),
        ActionsBlock(
            block_id=f"reveal-{request_id}",
            elements=[
                ButtonElement(text="Reveal once", action_id=ids.REVEAL_ACTION, value=token, style="primary"),
            ],
        ),
        context(f"The reveal works once and expires {slack_date(expires_at)}."),
    ]


def reveal_done(request_id: int, when: datetime) -> list[Block]:
    return [
        markdown(
            f":white_check_mark: The password(s) for request *#{request_id}* were revealed "
            f"{slack_date(when)} and erased from the bot."
        )
    ]
