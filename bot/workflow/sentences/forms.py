"""What the workflow says about a submitted form: its mistakes, the limits per person, the server list
behind it, and forms drawn from a message or a finished request (drafts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.workflow.sentences.decisions import names_list

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
