"""What the workflow says about a request and the moves on it: looking it up, who may act, approvals,
denials and cancels."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import RequestStatus
from bot.workflow.states import STATUS_WORDS


def names_list(names: Iterable[str], limit: int = 10) -> str:
    """`a, b, c and 4 more`: at most `limit` names, then how many were left out."""
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def reason_too_long(limit: int) -> str:
    return f"Keep the reason under {limit} characters."


# -- any request ------------------------------------------------------------------------------------------


def no_request(request_id: int) -> str:
    return f"There is no request #{request_id}."


def already(request_id: int, status: RequestStatus) -> str:
    return f"Request #{request_id} is already {STATUS_WORDS[status]}."


def status_is(request_id: int, status: RequestStatus) -> str:
    return f"Request #{request_id} is {STATUS_WORDS[status]}."


def not_yours_to_see(request_id: int) -> str:
    return f"Request #{request_id} is not yours to see."


# -- who may: membership, deciding, cancelling ------------------------------------------------------------


def membership_unknown(target: str) -> str:
    return (
        f"Slack did not say who is in the user groups of {target} just now, and the bot never decides on an "
        "old list: nothing was changed. Try again in a minute."
    )


def own_request(request_id: int) -> str:
    return f"You cannot approve or deny your own request #{request_id}."


def not_an_approver(target: str, request_id: int) -> str:
    return f"You are not an approver for target {target}, so you cannot decide on #{request_id}."


def may_not_cancel(target: str, request_id: int) -> str:
    return f"Only the requester or an approver of {target} can cancel request #{request_id}."


# -- decisions --------------------------------------------------------------------------------------------


def expired(request_id: int) -> str:
    return f"Request #{request_id} has expired."


def still_checking(request_id: int) -> str:
    return f"Request #{request_id} is still being checked; try again shortly."


def already_decided(request_id: int) -> str:
    return f"You have already decided on request #{request_id}."


def approved_needs_more(request_id: int, left: int) -> str:
    return f"Approved. Request #{request_id} needs {left} more approval(s)."


def approved_running(request_id: int) -> str:
    return f"Approved. Request #{request_id} is running now."


DENIAL_NEEDS_REASON = "Give a reason for the denial."


def denied_outcome(reason: str) -> str:
    """The request's outcome line after a denial (its card and the requester show it)."""
    return f"Denied: {reason}"


def already_settled(request_id: int) -> str:
    return f"Request #{request_id} was already settled."


def denied(request_id: int) -> str:
    return f"Request #{request_id} denied."


EXPIRED_OUTCOME = "Expired before it was approved."

# -- cancel -----------------------------------------------------------------------------------------------


def no_longer_cancellable(request_id: int, status: RequestStatus) -> str:
    return f"Request #{request_id} is already {STATUS_WORDS[status]}; it can no longer be cancelled."


def cancel_needs_reason(request_id: int) -> str:
    """For an approver cancelling someone else's request, with an example of the command."""
    return (
        f"Request #{request_id} is not yours: say why you cancel it, e.g. "
        f"`cancel {request_id} duplicate of #{max(request_id - 1, 1)}`. The requester sees it."
    )


CANCELLED_OUTCOME = "Cancelled before it ran."


def cancelled_by_approver_outcome(why: str) -> str:
    return f"Cancelled by an approver: {why}"


def settled_before_cancel(request_id: int) -> str:
    return f"Request #{request_id} was settled before the cancel arrived."


def cancelled(request_id: int) -> str:
    return f"Request #{request_id} cancelled."
