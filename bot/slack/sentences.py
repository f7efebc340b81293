"""Every sentence the Slack front end says to a person, in one place (as bolt-python's `logger/messages`).

Listeners and the notifier pick their words here, so the front end's voice is read and changed in one
file. Sentences about a request itself (refusals, results, form errors, outcomes) are the workflow's
(the package `bot/workflow/sentences/`), which every front end shows as they are; Block Kit labels stay
with their builders in `blocks/`. Outside text (reasons, names, Slack's error codes in notes) reaches these
sentences only through `blocks.text.escape`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.domain import RequestRecord, RevealOutcome
from bot.slack import ids
from bot.slack.blocks.common import escape, slack_date
from bot.workflow import NO_TARGETS, STATUS_WORDS, STORE_FAILED, EventKind

# -- the command ------------------------------------------------------------------------------------------

HELP_TITLE = f"*{ids.COMMAND}* resets the login password of ECS servers after approval."
HELP_FORM = f"• `{ids.COMMAND} [server names or IDs]`: open the request form (pre-filled)"
HELP_END = "The new password comes to you privately in my DM."


def help_text(usages: Iterable[tuple[str, str]]) -> str:
    """The reply to `help`: the title, the form, one line per (usage after the command, what it does)."""
    lines = [f"• `{ids.COMMAND} {usage}`: {does}" for usage, does in usages]
    return "\n".join([HELP_TITLE, HELP_FORM, *lines, HELP_END])


def history_line(r: RequestRecord) -> str:
    """One request of `history`: number, target, state, when, reason (escaped)."""
    return (
        f"#{r.id} {r.target}: {STATUS_WORDS[r.status]} ({r.created_at:%Y-%m-%d %H:%M} UTC), "
        f"reason {escape(r.reason)}"
    )


REQUESTS_UNREADABLE = "I could not read the requests right now; nothing was changed. Try again in a minute."
NO_HISTORY = "You have no requests yet."


def usage(word: str) -> str:
    return f"Usage: `{ids.COMMAND} {word} <request number>`"


def cancel_late(request_id: int) -> str:
    return (
        f"Your cancel of request #{request_id} is still being recorded (the bot's database is slow). "
        "The request's card and the requester's DM will show it; if it does not take effect you will "
        "get a DM saying why."
    )


def cancel_failed(request_id: int) -> str:
    return (
        f"Your cancel of request #{request_id} could not be recorded (the bot's database failed); "
        "cancel it again in a minute."
    )


# -- the request form -------------------------------------------------------------------------------------

NOT_ALLOWED_ANY_TARGET = NO_TARGETS


PICK_TARGET = "Pick a target."
PICK_PASSWORD_MODE = "Pick one of the password options."
PICK_RESTART = "Pick one of the restart options."


def too_many_pasted(limit: int) -> str:
    return f"Paste at most {limit} names or IDs at once."


def reason_hint(pattern: str | None) -> str | None:
    """The reason field's hint for a target's reason pattern (none without one)."""
    return f"Must match {pattern}" if pattern else None


def cannot_check_requesters(why: object) -> str:
    return f"The bot cannot check who may request resets: {why}."


def form_trigger_expired(error: str) -> str:
    return (
        f"Slack did not open the request form in time ({error}); nothing was lost. "
        f"Type `{ids.COMMAND}` again."
    )


def form_misconfigured(operator_sentence: str) -> str:
    return f"The bot is misconfigured and cannot open the form: {operator_sentence}."


def form_not_opened(error: str) -> str:
    return f"Slack did not open the request form ({error}). Try `{ids.COMMAND}` again."


NOT_CHECKED = (
    "The bot could not check the request right now (the cloud or Slack did not answer in time). "
    "Nothing was created; submit again in a minute."
)
NOT_RECORDED = STORE_FAILED
STILL_RECORDING = (
    "Your request passed every check and is still being recorded (the bot's database is slow). "
    "You will get a DM with its number once it is recorded, or a DM saying it was not. "
    "Do not submit it again."
)


def late_failure(target: str) -> str:
    return (
        f"Your password reset request for {target} could not be recorded after all (the bot's database "
        "failed). Nothing was created; submit it again."
    )


AGAIN_DAMAGED = "This button is damaged; open the form with the command instead."

# -- approvals --------------------------------------------------------------------------------------------

FORM_DAMAGED = "This form is damaged; close it."
APPROVE_DAMAGED = "This button is damaged; nothing was approved."
DENY_DAMAGED = "This button is damaged; nothing was denied."
DENIAL_NOT_RECORDED = "The bot could not record the denial right now; try again in a minute."
DENIAL_LATE = (
    "Your denial is still being recorded (the bot's database is slow). The card will show it; "
    "if it does not take effect you will get a DM saying why."
)
DENIAL_FAILED = "Your denial could not be recorded (the bot's database failed); deny again in a minute."


def deny_intro(request_id: int) -> str:
    return f"Denying ends request #{request_id}; the requester sees your reason."


def cannot_check_approvers(why: object) -> str:
    return (
        f"The bot is misconfigured and cannot check who may approve: {why}. Nothing changed; "
        "the bot's operator must fix it."
    )


def approval_not_recorded(request_id: int) -> str:
    return (
        f"Your approval of #{request_id} could not be recorded (the bot's database "
        "did not answer). Nothing changed; click again in a minute."
    )


# -- the requester's DM: cancel and reveal ----------------------------------------------------------------

CANCEL_DAMAGED = "This button is damaged; nothing was cancelled."
HOME_DAMAGED = "This button is damaged; nothing changed."
REVEAL_REFUSALS = {
    RevealOutcome.ALREADY_REVEALED: "This password was already revealed once and has been erased. "
    "If you did not keep it, request a new reset.",
    RevealOutcome.EXPIRED: "This reveal has expired and the password was erased. Request a new reset.",
    RevealOutcome.NOT_FOUND: "There is nothing to reveal here.",
    RevealOutcome.WRONG_USER: "Only the requester can reveal this password.",
    RevealOutcome.BEING_SHOWN: "Your password is being shown in another window right now. "
    "If none opened, click again in half a minute: it is still there.",
}


PASSWORD_REVEALED = "Password revealed"
"""The notification text of the DM's Reveal offer once it was used."""


def reveal_not_shown(request_id: int | None, expires_at: datetime | None) -> str:
    until = f" (until {slack_date(expires_at)})" if expires_at else ""
    return (
        f"Slack did not open the window with your password for request #{request_id}, so "
        f"nothing was used up: click *Reveal once* again{until}."
    )


# -- the notifier: cards' threads, the requester's DM, the audit channel ----------------------------------

THREAD_NOTES: dict[EventKind, str] = {
    EventKind.APPROVED_BY: ":white_check_mark: Approved by <@{actor}>.",
    EventKind.DENIED: ":no_entry: Denied by <@{actor}>. {note}",
    EventKind.CANCELLED: ":heavy_minus_sign: Cancelled by <@{actor}>. {note}",
    EventKind.EXPIRED: ":alarm_clock: Expired before enough approvals; <@{requester}> can submit it again.",
    EventKind.EXECUTING: ":gear: Approved; resetting now.",
    EventKind.RECOVERED: ":recycle: The bot restarted during this reset and is finishing it.",
    EventKind.FINISHED: "{status_emoji} {note}",
    EventKind.PREFLIGHT_FAILED: ":red_circle: Pre-flight failed: {note}",
    EventKind.ACKNOWLEDGED: ":white_check_mark: Break-glass acknowledged by <@{actor}>.",
    EventKind.FLAGGED: ":triangular_flag_on_post: Flagged by <@{actor}>; the request is disputed: {note}",
}
"""The card's thread line per event (`actor`, `requester`, escaped `note`, `status_emoji`)."""
BREAK_GLASS_EXECUTING = ":rotating_light: Break-glass: resetting now, without approval."
"""The thread line of `EXECUTING` on a break-glass card (nobody approved it)."""
REQUESTER_NOTES: dict[EventKind, str] = {
    EventKind.CANCELLED: ":heavy_minus_sign: Your request #{id} was cancelled by <@{actor}>. {note}",
    EventKind.DENIED: ":no_entry: Your request #{id} was denied by <@{actor}>. {note}",
    EventKind.EXPIRED: ":alarm_clock: Your request #{id} expired before it was approved.",
    EventKind.FINISHED: "Your request #{id} is finished: {note}",
    EventKind.PREFLIGHT_FAILED: ":red_circle: Your request #{id} cannot run: {note}",
    EventKind.ACKNOWLEDGED: ":white_check_mark: Your break-glass request #{id} was acknowledged by "
    "<@{actor}>.",
    EventKind.FLAGGED: ":triangular_flag_on_post: Your break-glass request #{id} was flagged by <@{actor}> "
    "and is disputed: {note}",
}
"""The requester's DM line per event someone else caused (`id`, `actor`, escaped `note`)."""


def received(request_id: int, checking: bool) -> str:
    doing = "checking it with the cloud" if checking else "waiting for approval"
    return f"Request #{request_id} received; {doing}."


def submitted_audit(request_id: int, requester_id: str, target: str, servers: int) -> str:
    return f"#{request_id} submitted by <@{requester_id}> for {target} ({servers} servers)"


AUDIT_WITH_NOTE = frozenset({EventKind.FLAGGED})
"""Events whose audit-channel line carries the person's reason (escaped)."""


def event_audit(request_id: int, kind: EventKind, actor: str | None, note: str | None = None) -> str:
    line = f"#{request_id} {kind.value}" + (f" by <@{actor}>" if actor else "")
    return line + (f": {escape(note)}" if note and kind in AUDIT_WITH_NOTE else "")


def approvers_reachable(request_id: int, channel_id: str) -> str:
    return f":white_check_mark: Approvers can now see your request #{request_id} in <#{channel_id}>."


def approvers_unreachable(
    request_id: int, channel_id: str, operator_sentence: str, expires_at: datetime
) -> str:
    return (
        f":warning: Approvers cannot see your request #{request_id} yet: the bot cannot post its "
        f"card in <#{channel_id}> ({operator_sentence}). The bot's operator must fix "
        "that channel; the card is posted as soon as it works, and the request still expires "
        f"{slack_date(expires_at)}."
    )


def passwords_ephemeral(request_id: int) -> str:
    return f"New password(s) for request #{request_id}"


def reveal_ready(request_id: int) -> str:
    return f"Your new password for request #{request_id} is ready to reveal once."


def offer_reached_late(requester_id: str) -> str:
    return f":key: The Reveal offer reached <@{requester_id}> after all."


def delivered(requester_id: str, ephemeral: bool, offer: bool) -> str:
    ways = [w for w, ok in (("a private message", ephemeral), ("a one-time Reveal in the DM", offer)) if ok]
    return f":key: Password delivered to <@{requester_id}> by " + " and ".join(ways) + "."


def undelivered(requester_id: str, why: str) -> str:
    return (
        f":warning: *Password NOT delivered*: it reached nobody ({why}). "
        f"The bot keeps offering <@{requester_id}> the Reveal while it lives; the operator "
        "was alerted."
    )


def still_waiting(request_id: int) -> str:
    return f":bell: Request #{request_id} is still waiting for approval."


# -- break-glass ------------------------------------------------------------------------------------------

BREAK_GLASS_NOT_RUN = "Break-glass not run"
BREAK_GLASS_NOT_HELD = (
    "The bot could not prepare the confirmation right now (its database did not answer in time). "
    "Nothing was run; submit again in a minute."
)
BREAK_GLASS_NOT_CHECKED = (
    "The bot could not check it right now (the cloud, Slack or its database did not answer in time). "
    "Nothing was run. In a minute, go back to your form (it is kept) and submit it again for a new "
    "confirmation."
)
ACKNOWLEDGE_DAMAGED = "This button is damaged; nothing was acknowledged."
FLAG_DAMAGED = "This button is damaged; nothing was flagged."
FLAG_LATE = (
    "Your flag is still being recorded (the bot's database is slow); the card will show it. "
    "If it does not take effect you will get a DM saying why."
)


def review_not_recorded(request_id: int) -> str:
    return (
        f"Your review of #{request_id} could not be recorded (the bot's database did not answer). "
        "Nothing changed; try again in a minute."
    )


def break_glass_audit(request_id: int, target: str, requester_id: str, servers: int, reason: str) -> str:
    return (
        f":rotating_light: #{request_id} BREAK-GLASS on {target} by <@{requester_id}>: runs without "
        f"approval on {servers} server(s). Reason: {escape(reason)}"
    )


def break_glass_dm(
    request_id: int, target: str, requester_id: str, servers: int, reason: str, channel: str | None
) -> str:
    where = f" in <#{channel}>" if channel else ""
    return (
        f":rotating_light: *Break-glass on {target}*: <@{requester_id}> is resetting the login password of "
        f"{servers} server(s) now, without approval (request #{request_id}).\n"
        f"*Incident reason:* {escape(reason)}\n"
        f"As an approver of {target}, review it: Acknowledge or Flag on its card{where}."
    )


def review_reminder(
    request_id: int, requester_id: str, ran_at: datetime, approvers: list[str], limit: int = 20
) -> str:
    mentions = " ".join(f"<@{a}>" for a in approvers[:limit])
    more = f" and {len(approvers) - limit} more" if len(approvers) > limit else ""
    return (
        f":bell: Break-glass request #{request_id} by <@{requester_id}> ran {slack_date(ran_at)} and "
        f"nobody has acknowledged or flagged it yet. {mentions}{more}: please review it on the card."
    )


def review_reminder_audit(request_id: int, target: str, requester_id: str) -> str:
    return (
        f":bell: #{request_id} break-glass on {target} by <@{requester_id}> is still not reviewed by "
        "any approver."
    )
