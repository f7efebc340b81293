"""The approval card in the approvers' channel, redrawn in place at every step of a request."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, DividerBlock

from bot.domain import PasswordMode, RequestStatus
from bot.slack import ids
from bot.slack.blocks.breakglass import card_marking
from bot.slack.blocks.common import (
    context,
    escape,
    flagged_servers,
    markdown,
    repeated_names,
    server_line,
    server_lines,
    slack_date,
    status_line,
)
from bot.slack.blocks.summary import RESTART, decide_buttons, review_buttons
from bot.workflow import RequestView

WHAT_RUNS = {
    PasswordMode.SHARED: "one new password for all servers",
    PasswordMode.PER_SERVER: "a different new password for each server",
}


def card_text(view: RequestView) -> str:
    """The notification fallback: no password, no server details, just what and who."""
    r = view.request
    marked = " (BREAK-GLASS, run without approval)" if r.break_glass is not None else ""
    return f"Password reset request #{r.id} for {r.target} by <@{r.requester_id}>{marked}: {r.status.value}"


def approval_card(view: RequestView) -> list[Block]:
    r = view.request
    resettable = view.resettable
    blocks: list[Block] = [
        markdown(f"*Password reset request #{r.id}* for *{r.target}*\n{status_line(r.status)}"),
        *card_marking(view),
        markdown(f"*Requested by* <@{r.requester_id}>\n*Reason:* {escape(r.reason)}"),
        markdown(
            f"*What will run:* reset the login password of {len(resettable)} server(s) with "
            f"{WHAT_RUNS[r.password_mode]}, then {RESTART[r.reboot]}. "
            "The password goes only to the requester."
        ),
        markdown(f"*Servers ({len(view.servers)})*\n{server_lines(view.servers)}"),
    ]
    flagged = flagged_servers(view.servers)
    if flagged:
        blocks.append(
            context(
                f":warning: {flagged} server(s) need a second look: a name shared with another server, "
                "or written with look-alike or invisible characters. Compare IDs, IPs and tags."
            )
        )
    if view.not_resettable and r.status == RequestStatus.PENDING:
        blocks.append(
            context(
                f":warning: {len(view.not_resettable)} server(s) failed the pre-flight check and "
                "will be skipped."
            )
        )
    approvals = view.approvals
    decided = [f"approved by <@{d.user_id}>" for d in approvals]
    if view.denial:
        decided.append(f"denied by <@{view.denial.user_id}>: {escape(view.denial.reason or '')}")
    progress = f"{len(approvals)} of {r.approvals_required} approval(s)"
    if r.break_glass is not None:
        progress = "No approval asked (break-glass)"
    blocks.append(context(f"{progress}. " + ("; ".join(decided) + "." if decided else "")))
    if r.outcome_message:
        blocks.append(markdown(f"*Outcome:* {escape(r.outcome_message)}"))
    if r.status == RequestStatus.PENDING:
        blocks += [
            context(f"Expires {slack_date(r.expires_at)}."),
            decide_buttons(view, approve_action=ids.APPROVE_ACTION, block_id=f"decide-{r.id}"),
        ]
    blocks += review_buttons(view, acknowledge_action=ids.ACKNOWLEDGE_ACTION, block_id=f"review-{r.id}")
    blocks.append(DividerBlock())
    return blocks


def results_thread(view: RequestView, chunk: int = 40) -> list[str]:
    """Per-server results for the card's thread, in messages that stay under Slack's text limit."""
    repeated = repeated_names(view.servers)
    lines = [server_line(s, repeated) for s in view.servers]
    return ["\n".join(lines[i : i + chunk]) for i in range(0, len(lines), chunk)]
