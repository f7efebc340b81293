"""Break-glass in Block Kit: the confirmation before it runs, its marking and review on the card, the
approvers' DM, the reminder, and the flag reason form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
)
from slack_sdk.models.views import View

from bot.config import Target
from bot.domain import PasswordMode, RebootMode
from bot.slack import ids
from bot.slack.blocks.common import context, escape, markdown, slack_date
from bot.slack.blocks.summary import RESTART, shown_names
from bot.workflow import CheckedSubmission, RequestView, ReviewState, Submission, duration_words

MAX_METADATA = 3000
"""Slack's limit on `private_metadata`: the confirmation carries the checked submission in it."""
SERVERS_SHOWN = 20

EMERGENCY_OPTION = Option(
    value="break_glass",
    text="Emergency: run without approval",
    description="Right after the checks, no approver asked. You confirm on the next screen.",
)

WHAT_RUNS = {
    PasswordMode.SHARED: "one new password for all of them",
    PasswordMode.PER_SERVER: "a different new password for each",
}


def emergency_block(targets: Sequence[str]) -> InputBlock:
    """The form's break-glass choice, shown only to people allowed on at least one of `targets`."""
    return InputBlock(
        block_id=ids.EMERGENCY_BLOCK,
        label="Emergency",
        optional=True,
        hint=f"Only for {', '.join(targets)}. Approvers and the audit channel are told at once and review "
        "it afterwards; once per cooldown.",
        element=CheckboxesElement(action_id=ids.EMERGENCY_ACTION, options=[EMERGENCY_OPTION]),
    )


# -- the confirmation -------------------------------------------------------------------------------------


def confirmation(checked: CheckedSubmission, audit_channel: str | None) -> View | str:
    """The view pushed over the form once a break-glass submission passed every check, or, when the
    servers are too many for the confirmation to carry, the sentence for the form."""
    submission = replace(checked.submission, reason=checked.reason)
    metadata = confirmation_metadata(submission, [s.server_id for s in checked.servers])
    if metadata is None:
        return (
            f"Break-glass covers at most about {MAX_METADATA // 40} servers at once (these are "
            f"{len(checked.servers)}). Name fewer, or untick Emergency to ask for approval."
        )
    names = [s.name or s.server_id for s in checked.servers]
    return confirmation_view(submission, names, checked.target, audit_channel, metadata)


def confirmation_metadata(submission: Submission, server_ids: Sequence[str]) -> str | None:
    """What the confirmation carries to its submission: the checked form, servers by ID. Checked again
    in full when confirmed (it comes back through Slack). None when it does not fit Slack's limit."""
    data = {
        "t": submission.target,
        "s": list(server_ids),
        "r": submission.reason,
        "m": submission.password_mode.value,
        "b": submission.reboot.value,
    }
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= MAX_METADATA else None


def confirmed_submission(user_id: str, metadata: str, key: str | None) -> Submission | None:
    """The submission a confirmation carries; None when it is damaged (or forged out of shape)."""
    try:
        data: Any = json.loads(metadata)
        return Submission(
            target=str(data["t"]),
            requester_id=user_id,
            server_refs=[str(s) for s in data["s"]][:1000],
            reason=str(data["r"]),
            password_mode=PasswordMode(data["m"]),
            reboot=RebootMode(data["b"]),
            submission_key=key,
            break_glass=True,
        )
    except (ValueError, KeyError, TypeError):
        return None


def _who(principals: Sequence[str]) -> str:
    return ", ".join(f"<@{p}>" if p[:1] in "UW" else escape(p) for p in principals)


def confirmation_view(
    submission: Submission,
    server_names: Sequence[str],
    target: Target,
    audit_channel: str | None,
    metadata: str,
) -> View:
    """Says exactly what will happen and who will be told; only its submission creates the request."""
    config = target.break_glass
    assert config is not None
    told = [
        f"• <#{target.approvers_channel}>: the request's card, marked *BREAK-GLASS*",
        f"• every approver of {target.name}, by DM ({_who(target.approvers)})",
    ]
    if audit_channel:
        told.append(f"• the audit channel <#{audit_channel}>")
    blocks: list[Block] = [
        markdown(":rotating_light: *Emergency: run without approval*"),
        markdown(
            f"*What will happen:* right after the checks, the login password of {len(server_names)} "
            f"server(s) of *{target.name}* is reset with {WHAT_RUNS[submission.password_mode]}, then "
            f"{RESTART[submission.reboot]}. No approver is asked. The password comes to you privately.\n"
            f"*Servers:* {shown_names(server_names, SERVERS_SHOWN)}\n"
            f"*Incident reason:* {escape(submission.reason)}"
        ),
        markdown("*Who is told at once:*\n" + "\n".join(told)),
        context(
            f"The approvers review it afterwards (Acknowledge or Flag); when nobody has within "
            f"{duration_words(config.review_within)}, they and the audit channel are reminded. "
            f"You can break glass on {target.name} once per {duration_words(config.cooldown)}. "
            "Go back to submit it for approval instead."
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.BREAK_GLASS_MODAL,
        title="Confirm break-glass",
        submit="Run without approval",
        close="Back",
        private_metadata=metadata,
        blocks=blocks,
    )


# -- the card -----------------------------------------------------------------------------------------------


def card_marking(view: RequestView) -> list[Block]:
    """Under the card's title: that it ran without approval, and where its review stands."""
    review = view.request.break_glass
    if review is None:
        return []
    blocks: list[Block] = [
        markdown(
            f":rotating_light: *BREAK-GLASS*: run without approval by <@{view.request.requester_id}> "
            "in an emergency."
        )
    ]
    if review.state == ReviewState.AWAITING:
        blocks.append(context(":hourglass: Review: waiting for an approver to acknowledge or flag it."))
    elif review.state == ReviewState.ACKNOWLEDGED:
        at = f" {slack_date(review.reviewed_at)}" if review.reviewed_at else ""
        blocks.append(context(f":white_check_mark: Acknowledged by <@{review.reviewed_by}>{at}."))
    elif review.state == ReviewState.DISPUTED:
        blocks.append(
            markdown(
                f":triangular_flag_on_post: *DISPUTED*: flagged by <@{review.reviewed_by}>: "
                f"{escape(review.reason or '')}"
            )
        )
    return blocks
