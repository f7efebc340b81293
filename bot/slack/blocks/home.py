"""The Home tab: what waits on this person's decision or review, their own requests, and a New request
button.

Drawn from the workflow's `HomeView` only: no password ever reaches it (the Reveal button opens the
one-time modal), and every text from people or the cloud goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
)
from slack_sdk.models.views import View

from bot.domain import BreakGlassReview, ReviewState, ServerRecord
from bot.slack import ids
from bot.slack.blocks.card import WHAT_RUNS
from bot.slack.blocks.common import (
    VIEW_BLOCK_LIMIT,
    clip,
    context,
    escape,
    flagged_servers,
    markdown,
    slack_date,
    status_line,
)
from bot.slack.blocks.summary import (
    again_button,
    cancel_button,
    decide_buttons,
    request_name,
    review_buttons,
    shown_names,
)
from bot.slack.blocks.text import name_as_shown
from bot.workflow import HomeView, OwnRequest, RequestView

NAMES_SHOWN = 5
"""Server names listed per request; the card (and its thread) has them all."""
REASON_SHOWN = 300


def home_view(home: HomeView, notice: str | None = None) -> View:
    """The whole Home tab of `home.user_id`; `notice` (the answer to their last click) on top."""
    blocks: list[Block] = [HeaderBlock(text="ECS password resets")]
    if notice:
        blocks.append(context(notice))
    blocks += [
        ActionsBlock(
            block_id="home-new",
            elements=[
                ButtonElement(text="New request", action_id=ids.HOME_NEW_REQUEST_ACTION, style="primary")
            ],
        ),
        DividerBlock(),
        HeaderBlock(text="Waiting for your decision"),
    ]
    if home.problem:
        blocks.append(context(f":warning: Some requests may be missing here: {home.problem}"))
    if not home.waiting:
        blocks.append(context("Nothing waits on your decision."))
    for view in home.waiting:
        blocks += waiting_entry(view)
    if home.more_waiting:
        channels = sorted({f"<#{v.approvers_channel}>" for v in home.waiting if v.approvers_channel})
        where = " in " + ", ".join(channels) if channels else ""
        blocks.append(context(f"More requests wait on you: see their cards{where}."))
    if home.reviewing:
        blocks += [DividerBlock(), HeaderBlock(text="Break-glass runs to review")]
        for view in home.reviewing:
            blocks += review_entry(view)
    blocks += [DividerBlock(), HeaderBlock(text="Your requests")]
    if not home.mine:
        blocks.append(context(f"You have no requests yet. Click *New request* or type `{ids.COMMAND}`."))
    for own in home.mine:
        blocks += own_entry(own)
    # 15 waiting, 10 to review and 10 own requests of 2 blocks each, plus 12 at most: within 100 blocks.
    return View(type="home", blocks=blocks[:VIEW_BLOCK_LIMIT])


def server_names(servers: Sequence[ServerRecord]) -> str:
    return f"{len(servers)} server(s): {shown_names((name_as_shown(s.name) for s in servers), NAMES_SHOWN)}"


def _reason(reason: str) -> str:
    return escape(reason if len(reason) <= REASON_SHOWN else reason[: REASON_SHOWN - 1] + "…")


def waiting_entry(view: RequestView) -> list[Block]:
    """A request waiting on this approver: what it would do, and Approve / Deny, as on its card."""
    r = view.request
    card = f" (card in <#{view.approvers_channel}>)" if view.approvers_channel else ""
    lines = [
        f"{request_name(r)} by <@{r.requester_id}>{card}",
        f"*Reason:* {_reason(r.reason)}",
        f"{server_names(view.resettable)}, with {WHAT_RUNS[r.password_mode]}",
        f"{len(view.approvals)} of {r.approvals_required} approval(s); expires {slack_date(r.expires_at)}",
    ]
    flagged = flagged_servers(view.servers)
    if flagged:
        lines.append(f":warning: {flagged} server(s) need a second look: compare IDs and tags on the card.")
    if view.not_resettable:
        skipped = len(view.not_resettable)
        lines.append(f":warning: {skipped} server(s) failed the pre-flight and will be skipped.")
    return [
        markdown(clip("\n".join(lines))),
        decide_buttons(view, approve_action=ids.HOME_APPROVE_ACTION, block_id=f"home-decide-{r.id}"),
    ]


def review_entry(view: RequestView) -> list[Block]:
    """A break-glass run awaiting this approver's review: who ran what and why, and Acknowledge / Flag,
    as on its card (every click is checked again on the server)."""
    r = view.request
    card = f" (card in <#{view.approvers_channel}>)" if view.approvers_channel else ""
    lines = [
        f":rotating_light: {request_name(r)} by <@{r.requester_id}>{card}: run without approval "
        f"{slack_date(r.created_at)}, {status_line(r.status)}",
        f"*Incident reason:* {_reason(r.reason)}",
        server_names(view.servers),
    ]
    return [
        markdown(clip("\n".join(lines))),
        *review_buttons(view, acknowledge_action=ids.HOME_ACKNOWLEDGE_ACTION, block_id=f"home-review-{r.id}"),
    ]


def own_entry(own: OwnRequest) -> list[Block]:
    """One of the person's requests: where it stands, its servers and outcome, and what they can do."""
    view, r = own.view, own.view.request
    lines = [
        f"{request_name(r)}, {slack_date(r.created_at)}: {status_line(r.status)}",
        server_names(view.servers),
    ]
    if r.outcome_message:
        lines.append(f"*Outcome:* {escape(r.outcome_message)}")
    if r.break_glass is not None:
        lines.append(f":rotating_light: Break-glass: run without approval; {review_line(r.break_glass)}")
    buttons: list[ButtonElement] = []
    if own.reveal_until is not None:
        lines.append(f":lock: Your new password can be revealed once, until {slack_date(own.reveal_until)}.")
        buttons.append(
            ButtonElement(
                text="Reveal once", action_id=ids.HOME_REVEAL_ACTION, value=str(r.id), style="primary"
            )
        )
    if own.cancellable:
        buttons.append(cancel_button(r.id, action_id=ids.HOME_CANCEL_ACTION, text="Cancel"))
    again = again_button(view)
    if again is not None:
        buttons.append(again)
    blocks: list[Block] = [markdown(clip("\n".join(lines)))]
    if buttons:
        blocks.append(ActionsBlock(block_id=f"home-own-{r.id}", elements=buttons))
    return blocks


REVIEW_WORDS = {
    None: "not run yet",
    ReviewState.AWAITING: "the approvers have not reviewed it yet",
    ReviewState.ACKNOWLEDGED: "acknowledged",
    ReviewState.DISPUTED: "flagged",
}


def review_line(review: BreakGlassReview) -> str:
    """Where the approvers' review of a break-glass run stands, for its requester."""
    line = REVIEW_WORDS[review.state]
    if review.reviewed_by and review.state in (ReviewState.ACKNOWLEDGED, ReviewState.DISPUTED):
        line += f" by <@{review.reviewed_by}>"
    if review.state == ReviewState.DISPUTED and review.reason:
        line += f": {escape(review.reason)}"
    return line + "."
