"""Slack at start-up, before `run` serves: the bot token (`auth.test`), in Socket Mode the app token
(`apps.connections.open`), then the user groups the targets name (`usergroups.list`).

Every token Slack refuses ends the start with one line naming each such variable (exit 3); a Slack that
does not answer is retried with backoff, one WARNING line per attempt, while `/healthz` says why it is
not ready. A user group the workspace does not have raises ConfigError (listed by the command line with
the other configuration problems, exit 2).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from bot.config import ConfigError
from bot.exit_codes import EXIT_REFUSED, StartupFailure
from bot.health import Health
from bot.probes import (
    BotTokenCheck,
    Refused,
    Unreachable,
    cause_of,
    check_app_token,
    check_bot_token,
    token_advice,
    tokens_advice,
)

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.app import Runtime

__all__ = ["SLACK_CHECK_DEADLINE_S", "check_slack", "pin_user_groups"]

log = logging.getLogger("bot")

SLACK_CHECK_DEADLINE_S = 10.0
T = TypeVar("T")


def _log_retry(what: str, health: Health) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        if isinstance(exc, Unreachable):
            health.report(
                "slack", f"Slack is unreachable at {exc.url} ({exc.cause}); retrying", level=logging.DEBUG
            )
            log.warning(
                "Slack is unreachable at %s (%s), checking %s; attempt %d, next in %.0f s",
                exc.url,
                exc.cause,
                what,
                state.attempt_number,
                delay,
                exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
            )

    return before_sleep


async def _until_reachable(
    what: str, call: Callable[[], Awaitable[T]], max_backoff_s: float, health: Health
) -> T:
    """`call` until Slack answers; Refused goes straight through. Backoff 1 s doubling to `max_backoff_s`."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(Unreachable),
        wait=wait_exponential_jitter(initial=1, max=max_backoff_s, jitter=1),
        before_sleep=_log_retry(what, health),
        reraise=True,
    ):
        with attempt:
            return await call()
    raise AssertionError("unreachable: AsyncRetrying either returns or raises")  # pragma: no cover


async def _accepted(
    variable: str, check: Callable[[], Awaitable[T]], max_backoff_s: float, health: Health
) -> T:
    """`check` until Slack answers; a refusal ends the start with the variable to fix (exit 3)."""
    try:
        return await _until_reachable(variable, check, max_backoff_s, health)
    except Refused as exc:
        raise StartupFailure(token_advice(variable, exc), EXIT_REFUSED) from exc


async def _app_token_refusal(app_client: AsyncWebClient) -> dict[str, Refused]:
    """The app token's answer once the bot token was refused, so the one line names every token Slack
    refuses: one call, no retry (Slack just answered; unreachable now, the line names the bot token)."""
    try:
        await check_app_token(app_client, deadline_s=SLACK_CHECK_DEADLINE_S)
    except Refused as exc:
        return {"SLACK_APP_TOKEN": exc}
    except Unreachable:
        pass
    return {}


async def check_slack(runtime: Runtime, *, max_backoff_s: float = 60.0) -> tuple[BotTokenCheck, str | None]:
    """The bot token, and in Socket Mode the app token, as Slack sees them.

    Returns what `auth.test` said (the bot's name, team, scopes) and, in Socket Mode, the WebSocket URL
    Slack issued for the app token: Socket Mode connects to it instead of asking again
    (`apps.connections.open` is rate-limited hard, Tier 1)."""
    from bot.app import slack_web_client

    settings, health = runtime.config.settings, runtime.health
    assert settings.slack_bot_token is not None
    bot_client = slack_web_client(runtime.session, settings.slack_bot_token.get_secret_value(), settings)
    health.report("slack", "checking the Slack tokens", level=logging.DEBUG)
    app_client = None
    if settings.mode == "socket":
        assert settings.slack_app_token is not None
        app_client = slack_web_client(runtime.session, settings.slack_app_token.get_secret_value(), settings)
    try:
        bot = await _until_reachable(
            "SLACK_BOT_TOKEN",
            lambda: check_bot_token(bot_client, deadline_s=SLACK_CHECK_DEADLINE_S),
            max_backoff_s,
            health,
        )
    except Refused as exc:
        refused = {"SLACK_BOT_TOKEN": exc}
        if app_client is not None:
            refused.update(await _app_token_refusal(app_client))
        raise StartupFailure(tokens_advice(refused), EXIT_REFUSED) from exc
    wss_url = None
    if app_client is not None:
        opened = await _accepted(
            "SLACK_APP_TOKEN",
            lambda: check_app_token(app_client, deadline_s=SLACK_CHECK_DEADLINE_S),
            max_backoff_s,
            health,
        )
        wss_url = opened.url
    health.clear("slack")
    return bot, wss_url


async def pin_user_groups(runtime: Runtime, *, max_backoff_s: float = 60.0) -> None:
    """The targets' `@handles` resolved to group IDs (`usergroups.list`), once Slack has accepted the bot
    token: a refused token is named as such, not as a failed `usergroups.list`. A group the workspace
    does not have raises ConfigError (the command line lists it with the other configuration problems,
    exit 2); an unreachable Slack is retried as the tokens are; a refusal (a missing scope) is one line,
    exit 3."""
    from bot.slack.refusals import RefusalKind, classify

    url = f"{runtime.config.settings.slack_api_url}usergroups.list"

    async def pin() -> None:
        try:
            await runtime.workflow.policy.pin_groups()
        except ConfigError:
            raise
        except Exception as exc:
            refusal = classify(exc, "usergroups.list")
            if refusal.kind is RefusalKind.RETRY_LATER:
                raise Unreachable(url, cause_of(exc, deadline_s=SLACK_CHECK_DEADLINE_S)) from exc
            raise StartupFailure(
                f"cannot read the user groups the targets name: {refusal.operator_sentence()}", EXIT_REFUSED
            ) from exc

    health = runtime.health
    health.report("slack", "reading the user groups the targets name", level=logging.DEBUG)
    await _until_reachable("the user groups (usergroups.list)", pin, max_backoff_s, health)
    health.clear("slack")
