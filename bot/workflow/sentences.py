"""Every sentence the workflow says to a person, in one place (as bolt-python's `logger/messages` and
Teleport's one sentence per error kind): refusals and results of actions (`ActionResult.message`), form
errors, pre-flight and execution outcomes, drafts.

Each is a constant or a function named for the situation, taking the values it mentions. Front ends show
them as they are (the Slack front end escapes what came from people or the cloud); none ever takes a
password. Log lines for operators stay beside the code that logs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.domain import RequestStatus
from bot.ecs import EcsAuthError, EcsError, EcsTlsError
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


# -- the submission: form errors, limits ------------------------------------------------------------------

STORE_FAILED = (
    "The bot could not record the request right now (its database failed). "
    "Nothing was created; submit again in a minute."
)
NO_TARGETS = (
    "You may not request password resets for any target. "
    "Ask the bot's operator to add you to a target's requesters."
)


def cannot_check_requesters(why: object) -> str:
    return f"The bot is misconfigured and cannot check who may request: {why}."


def may_not_request(target: str) -> str:
    return f"You may not request resets for target {target!r}."


REASON_MISSING = "Give a reason: approvers see it on the card."


def reason_must_match(target: str, pattern: str) -> str:
    return f"For {target} the reason must match {pattern} (for example start with a ticket ID)."


def one_password_only(target: str) -> str:
    return f"{target} allows only one password for the whole batch."


def no_restart(target: str) -> str:
    return f"{target} does not allow the bot to restart servers."


NO_SERVERS_GIVEN = "Pick at least one server, paste names or IDs, or give a tag."


def tag_on_incomplete_list(incomplete: str) -> str:
    """`incomplete` is `incomplete_list`'s sentence: "every server with the tag" would leave some out."""
    return f"{incomplete} Name the servers instead of giving a tag."


def no_server_with_tag(target: str, tag: str) -> str:
    return f"No server of {target} has the tag {tag!r}."


def unknown_servers(refs: Sequence[str]) -> str:
    return "Unknown servers: " + names_list(refs) + "."


def ambiguous_server(ref: str, matches: int) -> str:
    return f"{ref!r} matches {matches} servers; use its ID."


def listed_twice(refs: Sequence[str]) -> str:
    return "Listed more than once: " + names_list(refs) + "."


def over_server_limit(servers: int, limit: int, target: str) -> str:
    return f"{servers} servers is over the limit of {limit} for {target}."


def too_many_open(unfinished: int) -> str:
    return (
        f"You have {unfinished} requests still open, the most allowed at once. Wait until one is "
        "decided or finished, or cancel one (`cancel <number>`), then submit again."
    )


def too_many_per_minute(recent: int) -> str:
    return (
        f"You submitted {recent} requests in the last minute, the most allowed. "
        "Submit this one again in a minute."
    )


def already_requested(target: str, held: Mapping[int, Sequence[str]]) -> str:
    """`held`: request number -> the names of this submission's servers that request already holds."""
    parts = [f"{names_list(names, 5)} (request #{request_id})" for request_id, names in sorted(held.items())]
    return (
        f"Already in an open request of {target}: "
        + "; ".join(parts)
        + ". Wait for it to finish, or cancel it, before asking again."
    )


# -- the server list --------------------------------------------------------------------------------------


def incomplete_label(listed: int) -> str:
    """At most 75 characters: a Slack option group's label under the search box."""
    return f"Incomplete list: {listed} servers listed, more exist"[:75]


def incomplete_list(target: str, why: str) -> str:
    return (
        f"The server list of {target} is incomplete: {why}. "
        "A server missing from it cannot be found here; tell the bot's operator."
    )


def unknown_target(target: str) -> str:
    return f"Unknown target {target}."


def list_loading(target: str) -> str:
    return f"The server list of {target} is still loading; try again in a few seconds."


def list_failed(target: str, error: object) -> str:
    return f"Could not list the servers of {target}: {error}"


# -- pre-flight -------------------------------------------------------------------------------------------


def preflight_failed(error: EcsError) -> str:
    """The outcome of a pre-flight the cloud itself refused or could not be reached for."""
    if isinstance(error, EcsAuthError):
        how = "was refused by the cloud"
    elif isinstance(error, EcsTlsError):
        how = "could not trust the cloud's certificate"
    else:
        how = "could not reach the cloud"
    return f"The pre-flight check {how}: {error}"


def none_resettable(servers: int) -> str:
    return f"None of the {servers} servers can be reset; see the list."


def some_skipped(failed: int, servers: int) -> str:
    return f"{failed} of {servers} servers cannot be reset and will be skipped."


NO_BATCH_DRY_RUN = "This cloud has no batch reset API: the dry run could not check the servers."
SERVER_LOCKED = "The server is locked."
PLUGIN_MISSING = "The password reset plug-in is not installed on this server."


def cloud_refused_server(message: str | None, code: str | None) -> str:
    """The cloud's own words for one server (scrubbed by the client), with its error code once."""
    text = message or "The cloud refused this server."
    return f"{text} ({code})" if code and code not in text else text


# -- execution and restarts -------------------------------------------------------------------------------

LOST_IN_FLIGHT = (
    "The bot stopped while this server's reset was in flight or about to go: the cloud may or may not "
    "have applied the new password. Try the delivered password; if it fails, request a new reset."
)
NOT_ATTEMPTED = "Not attempted: the bot restarted and could not recover the generated password."


def not_attempted(why: str) -> str:
    return f"Not attempted: {why}"


def finished(ok: int, attempted: int, unknown: int, failed: int, *, resumed: bool, after: str | None) -> str:
    """A finished request's outcome; `after`: what the restart said, or that the password waits for one."""
    parts = [f"{ok} of {attempted} server(s) reset."]
    if unknown:
        parts.append(f"{unknown} unknown.")
    if failed:
        parts.append(f"{failed} failed.")
    if resumed:
        parts.append("Finished after a restart of the bot.")
    if after:
        parts.append(after)
    return " ".join(parts)


EFFECT_AT_NEXT_RESTART = "The new password takes effect after the server's next restart."


def restart_unconfirmed(kind: str, error: object) -> str:
    return f"The {kind} restart could not be confirmed: {error}"


def restarted(
    kind: str, done: Sequence[str], failed: Sequence[tuple[str, str | None]], unconfirmed: Sequence[str]
) -> str:
    """What a `kind` ("soft", "hard") restart did: the servers restarted, those whose job failed (with
    the cloud's reason), those the cloud said nothing of."""
    if not failed and not unconfirmed:
        return f"{len(done)} server(s) restarted ({kind}); the new password is in effect."
    parts = []
    if done:
        parts.append(f"Restarted ({kind}), the new password in effect: {', '.join(done)}.")
    if failed:
        reasons = "; ".join(f"{name} ({reason or 'no reason given'})" for name, reason in failed)
        parts.append(
            f"The {kind} restart failed on {reasons}: "
            "the new password takes effect at the server's next restart."
        )
    if unconfirmed:
        parts.append(
            f"The cloud did not report the restart of {', '.join(unconfirmed)}: it is not confirmed."
        )
    return " ".join(parts)


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


# -- drafts: a form pre-filled from a message or a finished request ---------------------------------------


def list_unread(target: str) -> str:
    return f"The server list of {target} could not be read in time, so its servers were not looked for."


NONE_NAMED = (
    "No server of your targets is named in that message (by name, ID or IP address). Pick the servers below."
)


def found_in_message(target: str, names: Sequence[str]) -> str:
    return f"Found {len(names)} server(s) of {target} in the message: {names_list(names)}."


def also_named(target: str, names: Sequence[str]) -> str:
    return (
        f"The message also names {len(names)} server(s) of {target} ({names_list(names)}); "
        "one request covers one target, so request those separately."
    )


def not_one_of_yours(request_id: int) -> str:
    return f"Request #{request_id} is not one of yours."


def not_finished(request_id: int) -> str:
    return f"Request #{request_id} is not finished yet."


def no_failed_servers(request_id: int) -> str:
    return f"Request #{request_id} has no failed servers to request again."


def no_longer_requester(target: str) -> str:
    return f"You may no longer request resets on {target}."


def again_note(request_id: int, names: Sequence[str]) -> str:
    return (
        f"Again for the {len(names)} server(s) of request #{request_id} that failed or "
        f"whose outcome is unknown: {names_list(names)}."
    )


def again_mark(request_id: int) -> str:
    """What marks a reason as the original's (`Again for #7: ...`)."""
    return f"Again for #{request_id}"
