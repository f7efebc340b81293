"""What the workflow says about break-glass: who may, the cooldown, the review."""

from __future__ import annotations

from datetime import datetime, timedelta

# -- break-glass and its review ---------------------------------------------------------------------------


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration_words(value: timedelta) -> str:
    """A cooldown or review window as people read it: `24 h`, `1 h 30 min`, `15 min`."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and not minutes:
        return f"{hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def break_glass_off(target: str) -> str:
    return f"Break-glass is not enabled for {target}; submit the request for approval instead."


def may_not_break_glass(target: str) -> str:
    return (
        f"You are not allowed to break glass on {target}. Submit the request without Emergency: "
        "the approvers decide as usual."
    )


def cooldown(target: str, last: datetime, cooldown: timedelta) -> str:
    """Why the cooldown refuses, when it is possible again, and what still works."""
    return (
        f"You already broke glass on {target} at {when(last)}; one emergency run per person per "
        f"{duration_words(cooldown)} on a target. You can break glass there again from "
        f"{when(last + cooldown)}. "
        "The normal path stays open: untick Emergency and submit, and approvers decide as usual."
    )


AGAIN_FROM_THE_FORM = "Go back to your form (it is kept) and submit it again for a new confirmation."
CONFIRMATION_UNKNOWN = (
    "This confirmation is not known to the bot (it expired, or it was never made here). Nothing was run. "
    + AGAIN_FROM_THE_FORM
)
CONFIRMATION_USED = (
    "This confirmation was already submitted (twice?): it runs at most once. If it was recorded, you get "
    "a message with the request's number; if not, nothing was run. " + AGAIN_FROM_THE_FORM
)
CONFIRMATION_NOT_YOURS = (
    "This confirmation belongs to someone else: nothing was run. To break glass yourself, open the form "
    "and submit your own request."
)


def confirmation_expired(valid_for: timedelta) -> str:
    return (
        f"This confirmation expired (each is valid for {duration_words(valid_for)}, so the checks are "
        f"recent). Nothing was run. {AGAIN_FROM_THE_FORM}"
    )


def nothing_to_review(request_id: int) -> str:
    return f"Request #{request_id} was approved as usual: there is no break-glass to review."


def own_break_glass(request_id: int) -> str:
    return f"You cannot review your own break-glass request #{request_id}."


def only_approvers_review(target: str, request_id: int) -> str:
    return f"Only approvers of {target} review break-glass request #{request_id}."


def not_run_yet(request_id: int) -> str:
    return f"Break-glass request #{request_id} has not run yet; review it once it has."


def cannot_review_now(request_id: int) -> str:
    return f"Break-glass request #{request_id} cannot be reviewed now."


def already_flagged(request_id: int) -> str:
    return f"Break-glass request #{request_id} was already flagged: it is disputed."


def already_acknowledged(request_id: int) -> str:
    return f"Break-glass request #{request_id} was already acknowledged."


FLAG_NEEDS_REASON = "Say why you flag it: the requester and the audit channel see it."


def flagged(request_id: int) -> str:
    return f"Request #{request_id} is flagged as disputed; everyone is told."


def acknowledged(request_id: int) -> str:
    return f"Break-glass request #{request_id} acknowledged."
