"""Slack's error answers, classified in one place: what each kind means, what the bot does, who is told.

Every Web API call the bot makes goes through `WatchedWebClient` (bot/slack/client.py), which classifies
each refusal here, counts it, and keeps the workspace's health; listeners and the notifier only ask
`classify()` what a refusal means for the person in front of them. Error codes: Slack's Web API method
pages ("Errors" tables) and https://api.slack.com/web#evaluating_responses (also
/work/shared/reference/slack-platform.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from slack_sdk.errors import SlackApiError


class RefusalKind(StrEnum):
    RETRY_LATER = "retry_later"
    """Slack is busy or unreachable (rate limit, 5xx, timeout): nothing is wrong with the request."""
    OPERATOR_MUST_FIX = "operator_must_fix"
    """The installation or a channel is unusable (scope, token, membership, archive): only the operator
    can fix it."""
    UNREACHABLE = "person_unreachable"
    """The person cannot be reached there (not in the channel, deactivated, DMs closed)."""
    TRIGGER_EXPIRED = "trigger_expired"
    """The click or command is too old (3 s) or was used already: the person must click again."""
    MESSAGE_GONE = "message_gone"
    """The message to edit is gone (someone deleted it): post a new one instead."""
    BOT_FAULT = "bot_fault"
    """Slack rejected what the bot sent (a bug: invalid blocks, arguments): logged as an ERROR."""


@dataclass(frozen=True)
class Handling:
    """What the bot does for one kind of refusal and who is told; README "When Slack refuses" mirrors it."""

    retry: bool
    """Whether the sweeper tries the notice again (until it lands or no longer matters)."""
    who_is_told: str
    people_see: str
    errors: frozenset[str] = frozenset()
    """Slack's error codes of this kind; a code no kind lists is the bot's fault."""


INSTALLATION_BROKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
        "ekm_access_denied",
        "org_login_required",
        "team_not_found",
        "app_uninstalled",
    }
)
"""The token or the app itself is refused: every call fails the same way until the operator acts."""

CHANNEL_UNUSABLE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "is_inactive",
        "restricted_action",
        "cant_post_in_channel",
    }
)
"""The bot cannot post in that channel: invite the bot, unarchive or name another channel."""

HANDLING: dict[RefusalKind, Handling] = {
    RefusalKind.RETRY_LATER: Handling(
        retry=True,
        who_is_told="nobody at once; the person if it lasts",
        people_see="the notice a little later (the sweeper resends it)",
        errors=frozenset(
            {
                "ratelimited",
                "rate_limited",
                "internal_error",
                "fatal_error",
                "service_unavailable",
                "request_timeout",
                "timeout",
                "connection_error",
            }
        ),
    ),
    RefusalKind.OPERATOR_MUST_FIX: Handling(
        retry=True,
        who_is_told="the person affected (another way); the operator (doctor, /healthz, metric, log)",
        people_see="that the bot is misconfigured, by what, and that the operator must fix it",
        errors=INSTALLATION_BROKEN | CHANNEL_UNUSABLE,
    ),
    RefusalKind.UNREACHABLE: Handling(
        retry=False,
        who_is_told="the person by another way (DM, response_url, the card's thread)",
        people_see="the notice elsewhere; an undelivered password is announced on the card",
        errors=frozenset(
            {
                "user_not_in_channel",
                "cannot_dm_bot",
                "user_not_found",
                "user_disabled",
                "users_not_found",
                "user_is_deactivated",
                "messages_tab_disabled",
                "user_is_restricted",
                "not_in_dm",
            }
        ),
    ),
    RefusalKind.TRIGGER_EXPIRED: Handling(
        retry=False,
        who_is_told="the person who clicked (response_url or an ephemeral message)",
        people_see="that Slack did not open the window and to click or type the command again",
        errors=frozenset(
            {"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id", "trigger_exchanged"}
        ),
    ),
    RefusalKind.MESSAGE_GONE: Handling(
        retry=False,
        who_is_told="everyone concerned, in a new message",
        people_see="a new message instead of the edited one",
        errors=frozenset(
            {"message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found"}
        ),
    ),
    RefusalKind.BOT_FAULT: Handling(
        retry=False,
        who_is_told="the operator (ERROR log, metric); the person gets a plain notice",
        people_see="that something went wrong and the operator was told",
    ),
}
_KIND_OF_ERROR = {error: kind for kind, handling in HANDLING.items() for error in handling.errors}


@dataclass(frozen=True)
class Refusal:
    """One refused call: its method, Slack's error code (or the HTTP status / exception kind), its kind."""

    method: str
    error: str
    kind: RefusalKind
    needed: str | None = None
    """For missing_scope: the scope Slack said is needed (its `needed` field)."""

    @property
    def installation_broken(self) -> bool:
        return self.error in INSTALLATION_BROKEN

    @property
    def channel_unusable(self) -> bool:
        return self.error in CHANNEL_UNUSABLE

    def operator_sentence(self) -> str:
        """What the operator must do, in one sentence (also shown to people as the reason)."""
        if self.error == "missing_scope":
            scope = f" `{self.needed}`" if self.needed else ""
            return (
                f"the Slack app lacks the scope{scope} (missing_scope on {self.method}): add it in the "
                "app's settings as manifest.yml declares and reinstall the app"
            )
        if self.installation_broken:
            return (
                f"Slack refuses the bot's token ({self.error}): install the app again and set the new "
                "SLACK_BOT_TOKEN"
            )
        if self.error == "not_in_channel":
            return "the bot is not a member of the channel: invite it there (`/invite @the bot`)"
        if self.error == "is_archived":
            return "the channel is archived: unarchive it or configure another channel"
        if self.error == "channel_not_found":
            return "the channel does not exist or the bot cannot see it: check the channel ID in the config"
        return f"Slack refused {self.method} with {self.error}"


def classify(exc: BaseException, method: str = "") -> Refusal:
    """The kind of a failed Slack call: a SlackApiError's `error` code, a 429/5xx status, or a
    connection problem or timeout (retry later). Anything unknown counts as the bot's fault."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"http_{exc.response.status_code}")
        method = method or _method_of(exc)
        status = exc.response.status_code
        needed = str(data["needed"]) if data.get("needed") else None
        if status == 429 or status >= 500:
            return Refusal(method, error, RefusalKind.RETRY_LATER)
        return Refusal(method, error, kind_of(error), needed)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | ConnectionError):
        return Refusal(method, type(exc).__name__, RefusalKind.RETRY_LATER)
    return Refusal(method, type(exc).__name__, RefusalKind.BOT_FAULT)


def kind_of(error: str) -> RefusalKind:
    """The kind of one Slack error code."""
    return _KIND_OF_ERROR.get(error, RefusalKind.BOT_FAULT)


def _method_of(exc: SlackApiError) -> str:
    url = str(getattr(exc.response, "api_url", "") or "")
    return url.rstrip("/").rsplit("/", 1)[-1]
