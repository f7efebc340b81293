"""Every Slack method the bot calls and the refusals of each class, as a table tests can drive.

Each `SlackErrorCase` names a method, an error Slack answers it with, its class (what the bot must
do about it: retry later, have the operator fix something, tell that a person cannot be reached, or
ask for a fresh click), and how to make the fake Slack answer it: `script` arranges it once through
the fake's fault API; `arrange`, where the error comes from a state a workspace really gets into
(the bot removed from a channel, a channel archived, a member deactivated, the token revoked, a
scope missing), arranges that state instead, so the test sees what production sees.

Use: ``@pytest.mark.parametrize("case", cases_for("chat.postMessage"), ids=str)`` or `ALL_CASES`.
`tests/simulator/slack/test_slack_error_table.py` checks the table covers every method the bot calls and
that each case makes the fake answer as the table says.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.simulator.slack import FakeSlack, SlackFault


class ErrorClass(enum.Enum):
    """What a refusal means for the bot (issue 10, point 2)."""

    RETRY_LATER = "retry later"  # ratelimited, 5xx, timeouts: Slack will take it later
    OPERATOR_MUST_FIX = "operator must fix"  # the install or a channel is broken: nothing works until fixed
    PERSON_UNREACHABLE = "person unreachable"  # this person cannot be shown anything this way
    TRIGGER_EXPIRED = "trigger expired"  # the click is spent: the person must click again


# How the fake answers a retry-later case: an ``ok: false`` error, an HTTP status, or no answer.
RATELIMITED, SERVER_ERROR, TIMEOUT = "ratelimited", "5xx", "timeout"
TOKEN_ERRORS = ("token_revoked", "invalid_auth", "account_inactive")
# The bot's AsyncWebClient waits 30 s by default: a timeout case holds the request longer than that.
TIMEOUT_HOLD_S = 60.0


@dataclass(frozen=True)
class SlackErrorCase:
    """One method answering one error; `script`/`arrange` make the fake Slack answer it."""

    method: str
    error: str
    kind: ErrorClass

    def __str__(self) -> str:
        return f"{self.method}-{self.error}"

    @property
    def http_status(self) -> int:
        """The HTTP status the bot's client sees (200 for ``ok: false`` answers)."""
        return {RATELIMITED: 429, SERVER_ERROR: 503, TIMEOUT: 504, "expired_url": 404}.get(self.error, 200)

    def script(
        self,
        fake: FakeSlack,
        times: int | None = 1,
        *,
        channel: str | None = None,
        user: str | None = None,
        hold_s: float = TIMEOUT_HOLD_S,
    ) -> SlackFault:
        """Make the next `times` calls of the method (about `channel`/`user`, if given) answer the error."""
        if self.error == RATELIMITED:
            return fake.rate_limit(self.method, times, retry_after=1, channel=channel)
        if self.error == SERVER_ERROR:
            return fake.server_error(self.method, times, channel=channel)
        if self.error == TIMEOUT:
            return fake.timeout(self.method, times, hold_s=hold_s)
        return fake.fail(self.method, self.error, times, channel=channel, user=user)

    @property
    def arrangeable(self) -> bool:
        """Whether `arrange` can bring this error about through workspace state."""
        return self.error in _STATES

    def arrange(self, fake: FakeSlack, *, channel: str | None = None, user: str | None = None) -> None:
        """Put the workspace in the state that makes Slack answer the error (for every later call).

        `channel` is the channel the bot will write to, `user` the person it will reach.
        """
        _STATES[self.error](fake, channel, user)


def _needs(value: str | None, what: str) -> str:
    if value is None:
        raise ValueError(f"arranging this error needs the {what}")
    return value


def _drop_scope(fake: FakeSlack, method: str) -> None:
    from bot.simulator.slack.scopes import scopes_for

    fake.scopes = fake.scopes - set(scopes_for(method))


_STATES: dict[str, Callable[[FakeSlack, str | None, str | None], None]] = {
    "not_in_channel": lambda f, c, u: f.remove_from_channel(_needs(c, "channel"), f.bot_user_id),
    "is_archived": lambda f, c, u: f.archive_channel(_needs(c, "channel")),
    "is_inactive": lambda f, c, u: f.archive_channel(_needs(c, "channel")),
    "user_not_in_channel": lambda f, c, u: f.remove_from_channel(_needs(c, "channel"), _needs(u, "user")),
    "user_disabled": lambda f, c, u: f.deactivate_user(_needs(u, "user")),
    "token_revoked": lambda f, c, u: f.revoke_token("token_revoked"),
    "invalid_auth": lambda f, c, u: f.revoke_token("invalid_auth"),
    "account_inactive": lambda f, c, u: f.revoke_token("account_inactive"),
}

_RETRY = (RATELIMITED, SERVER_ERROR, TIMEOUT)
_CHANNEL = ("channel_not_found", "not_in_channel", "is_archived")

# Per method, the errors of each class Slack documents for it (docs.slack.dev, each method's Errors),
# plus the token errors every method shares and missing_scope where the method needs a scope.
_ERRORS: dict[str, dict[ErrorClass, tuple[str, ...]]] = {
    "auth.test": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: TOKEN_ERRORS,
    },
    "chat.postMessage": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: (*_CHANNEL, "missing_scope", *TOKEN_ERRORS),
    },
    "chat.update": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: (*_CHANNEL[:2], "is_inactive", "missing_scope", *TOKEN_ERRORS),
    },
    "chat.postEphemeral": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: (*_CHANNEL, "missing_scope", *TOKEN_ERRORS),
        ErrorClass.PERSON_UNREACHABLE: ("user_not_in_channel", "user_not_found"),
    },
    "conversations.open": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: ("missing_scope", *TOKEN_ERRORS),
        ErrorClass.PERSON_UNREACHABLE: ("user_not_found", "user_disabled", "cannot_dm_bot"),
    },
    "views.open": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: TOKEN_ERRORS,
        ErrorClass.TRIGGER_EXPIRED: ("expired_trigger_id", "exchanged_trigger_id"),
    },
    # The Home tab (bot/slack/home_publisher.py): a refused publish is retried or dropped by its kind.
    "views.publish": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: TOKEN_ERRORS,
    },
    "usergroups.list": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: ("missing_scope", *TOKEN_ERRORS),
    },
    # Read only by `doctor` (its channel and people checks); it says what it found, per channel or person.
    "conversations.info": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: ("channel_not_found", "missing_scope", *TOKEN_ERRORS),
    },
    "users.info": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: ("missing_scope", *TOKEN_ERRORS),
        ErrorClass.PERSON_UNREACHABLE: ("user_not_found",),
    },
    # Not a Web API method: what Bolt's respond() posts to. Spent after 5 uses or 30 minutes (404
    # expired_url), like a trigger: the answer must take another path.
    "response_url": {
        ErrorClass.RETRY_LATER: (SERVER_ERROR,),
        ErrorClass.TRIGGER_EXPIRED: ("expired_url",),
    },
    # Read at each decision resting on a group: any refusal refuses the decision with a retry message.
    "usergroups.users.list": {
        ErrorClass.RETRY_LATER: _RETRY,
        ErrorClass.OPERATOR_MUST_FIX: ("missing_scope", *TOKEN_ERRORS),
    },
}


def _cases() -> tuple[SlackErrorCase, ...]:
    return tuple(
        SlackErrorCase(method, error, kind)
        for method, classes in _ERRORS.items()
        for kind, errors in classes.items()
        for error in errors
    )


ALL_CASES = _cases()
METHODS = tuple(_ERRORS)


def cases_for(method: str | None = None, kind: ErrorClass | None = None) -> list[SlackErrorCase]:
    """The cases of one method and/or one class (all when both are None)."""
    return [
        c for c in ALL_CASES if (method is None or c.method == method) and (kind is None or c.kind == kind)
    ]


_SDK_CALL = re.compile(
    r"\.((?:chat|views|conversations|users|usergroups|reactions|auth|apps|team)_[A-Za-z_]+)\("
)


def methods_the_bot_calls(root: Path | None = None) -> set[str]:
    """Slack methods called anywhere in the bot (simulator excluded), read from its source."""
    root = root or Path(__file__).resolve().parents[2] / "bot"
    found: set[str] = set()
    for path in root.rglob("*.py"):
        if "simulator" in path.parts:
            continue
        found |= {name.replace("_", ".") for name in _SDK_CALL.findall(path.read_text(encoding="utf-8"))}
    return found
