"""Break-glass in Block Kit: the confirmation before it runs, its marking and review on the card, the
approvers' DM, the reminder, and the flag reason form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
)
from slack_sdk.models.views import View

from bot.config import Target
from bot.domain import PasswordMode
from bot.slack import ids
from bot.slack.blocks.common import context, escape, markdown, slack_date
from bot.slack.blocks.summary import RESTART, shown_names
from bot.workflow import (
    BREAK_GLASS_HOLD_TTL,
    CheckedSubmission,
    RequestView,
    ReviewState,
    Submission,
    duration_words,
)

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


def confirmation(
    checked: CheckedSubmission,
    audit_channel: str | None,
    key: str,
    valid_for: timedelta = BREAK_GLASS_HOLD_TTL,
) -> View:
    """The view pushed over the form once a break-glass submission passed every check. It carries only
    `key` (the workflow's `hold_break_glass`): the checked submission waits in the bot's database, so
    any number of servers fits and any replica can take the confirmation."""
    submission = replace(checked.submission, reason=checked.reason)
    names = [s.name or s.server_id for s in checked.servers]
    return confirmation_view(submission, names, checked.target, audit_channel, key, valid_for)


def _who(principals: Sequence[str]) -> str:
    return ", ".join(f"<@{p}>" if p[:1] in "UW" else escape(p) for p in principals)


def confirmation_view(
    submission: Submission,
    server_names: Sequence[str],
    target: Target,
    audit_channel: str | None,
    key: str,
    valid_for: timedelta = BREAK_GLASS_HOLD_TTL,
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
            f"Confirm within {duration_words(valid_for)}, or submit the form again. "
            "Go back to submit it for approval instead."
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.BREAK_GLASS_MODAL,
        title="Confirm break-glass",
        submit="Run without approval",
        close="Back",
        private_metadata=key,
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
