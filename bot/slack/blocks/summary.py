"""The pieces of a request that every surface draws alike (the card, the requester's DM, the Home tab):
its name, what restarts after the reset, and its buttons with their confirmations. One builder each, so a
button, its value and its confirmation read the same wherever a request is shown; which action a click
goes to is the surface's (a Home click is answered on the Home tab, a card click in its channel)."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject

from bot.domain import RebootMode, RequestRecord, ReviewState
from bot.slack import ids
from bot.slack.blocks.common import escape
from bot.workflow import RequestView, ServerPhase, names_list

RESTART = {
    RebootMode.NONE: "no restart (the password takes effect at the next restart)",
    RebootMode.SOFT: "a soft restart afterwards",
    RebootMode.HARD: "a hard restart afterwards",
}
"""What follows the reset, as the card and the break-glass confirmation say it."""


def request_name(r: RequestRecord) -> str:
    """`*#7* for *prod-eu-de*`: how the DM and the Home tab name a request."""
    return f"*#{r.id}* for *{r.target}*"


def shown_names(names: Iterable[str], limit: int) -> str:
    """Server names, escaped, at most `limit` of them and how many more."""
    return names_list([escape(n) for n in names], limit)


def decide_buttons(view: RequestView, *, approve_action: str, block_id: str) -> ActionsBlock:
    """Approve (confirmed: how many servers of which target get a new password) and Deny (the
    deny-reason modal, the same from every surface)."""
    r = view.request
    return ActionsBlock(
        block_id=block_id,
        elements=[
            _confirmed(
                "Approve",
                approve_action,
                r.id,
                "Approve this reset?",
                f"{len(view.resettable)} server(s) of {r.target} get a new login password.",
            ),
            ButtonElement(text="Deny", action_id=ids.DENY_ACTION, value=str(r.id), style="danger"),
        ],
    )


def cancel_button(request_id: int, *, action_id: str, text: str) -> ButtonElement:
    """Cancel, confirmed first: the approvers are told."""
    return ButtonElement(
        text=text,
        action_id=action_id,
        value=str(request_id),
        style="danger",
        confirm=ConfirmObject(
            title="Cancel this request?",
            text="Approvers will be told.",
            confirm="Cancel it",
            deny="Keep it",
        ),
    )


def again_button(view: RequestView) -> ButtonElement | None:
    """ "Request again for these servers", on a finished request with failed or unknown servers."""
    r = view.request
    if not r.status.is_final or not view.servers_in(ServerPhase.FAILED, ServerPhase.UNKNOWN):
        return None
    return ButtonElement(text="Request again for these servers", action_id=ids.AGAIN_ACTION, value=str(r.id))


def review_buttons(view: RequestView, *, acknowledge_action: str, block_id: str) -> list[Block]:
    """Acknowledge while nobody reviewed a break-glass run; Flag until somebody did (an acknowledged run
    can still be disputed). Nothing for other requests. Every click is checked again on the server."""
    review = view.request.break_glass
    if review is None or review.state not in (ReviewState.AWAITING, ReviewState.ACKNOWLEDGED):
        return []
    r = view.request
    buttons = []
    if review.state == ReviewState.AWAITING:
        buttons.append(
            _confirmed(
                "Acknowledge",
                acknowledge_action,
                r.id,
                "Acknowledge?",
                f"You saw break-glass #{r.id} and find it justified.",
            )
        )
    buttons.append(ButtonElement(text="Flag", action_id=ids.FLAG_ACTION, value=str(r.id), style="danger"))
    return [ActionsBlock(block_id=block_id, elements=buttons)]


def _confirmed(label: str, action_id: str, request_id: int, title: str, text: str) -> ButtonElement:
    """A primary button that asks first (`title`, `text`), confirmed by its own label or gone Back."""
    return ButtonElement(
        text=label,
        action_id=action_id,
        value=str(request_id),
        style="primary",
        confirm=ConfirmObject(title=title, confirm=label, deny="Back", text=text),
    )
