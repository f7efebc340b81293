"""Calls that check an outside service once, within a hard deadline, and say in plain words why they failed.

`doctor` and the start of `run` share them. A failure is one of two kinds: `Refused` (the service answered
and said no, e.g. Slack's `invalid_auth`: retrying will not help, the operator must change a setting) or
`Unreachable` (no usable answer: timeout, connection refused, TLS, DNS, an HTTP error status; worth
retrying). Both always carry a non-empty cause.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

__all__ = [
    "TOKEN_ERRORS",
    "AppTokenCheck",
    "BotTokenCheck",
    "Refused",
    "Unreachable",
    "cause_of",
    "check_app_token",
    "check_bot_token",
    "token_advice",
    "tokens_advice",
]

# Slack's answers that mean "this token will not do" (docs: auth.test, apps.connections.open errors).
TOKEN_ERRORS: dict[str, str] = {
    "invalid_auth": "the token is not valid (copied incompletely, or from another app or workspace)",
    "not_authed": "no token was sent",
    "token_revoked": "the token was revoked (the app was uninstalled or the token regenerated)",
    "token_expired": "the token has expired",
    "account_inactive": "the workspace or the bot user is deactivated",
    "not_allowed_token_type": "this is the wrong kind of token",
    "missing_scope": "the token lacks a scope it needs",
    "invalid_token": "the token is not valid",
}
# Slack's answers that are Slack's own trouble: worth retrying.
_TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})


class Refused(Exception):
    """The service answered and refused; `error` is its code (e.g. `invalid_auth`), `cause` a sentence."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class Unreachable(Exception):
    """No usable answer from `url`; `cause` says which kind (timeout, refused, TLS, HTTP status...)."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"{url}: {cause}")
        self.url = url
        self.cause = cause


def cause_of(exc: BaseException, *, deadline_s: float | None = None) -> str:
    """Why a call failed, in words an operator can act on; never empty."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {deadline_s:g} s (timeout)" if deadline_s else "no answer in time (timeout)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return (
            f"TLS: the certificate of {exc.host} is not trusted ({exc.certificate_error}); if a proxy or a "
            "private CA issued it, set BOT_CA_BUNDLE to that CA"
        )
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return f"TLS: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"host name not found ({exc.host})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by {exc.host}:{exc.port}"
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port} ({reason})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} {exc.message}".strip()
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"the proxy refused the connection ({exc})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _slack_failure(exc: SlackApiError, url: str) -> Refused | Unreachable:
    # Usually a SlackResponse; for a body that is not JSON, slack_sdk passes aiohttp's response instead.
    data = getattr(exc.response, "data", None)
    status = getattr(exc.response, "status_code", None) or getattr(exc.response, "status", 0)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, str) or not error:
        return Unreachable(url, f"HTTP {status}, not an answer from the Slack Web API")
    if error in _TRANSIENT_ERRORS:
        return Unreachable(url, f"Slack answered {error} (HTTP {status})")
    return Refused(error, TOKEN_ERRORS.get(error, "Slack refused the call"))


@dataclass(frozen=True)
class BotTokenCheck:
    """What `auth.test` said about the bot token."""

    team: str
    user: str
    bot_id: str
    scopes: frozenset[str] | None = None
    """The token's scopes (the answer's `x-oauth-scopes` header); None when Slack or a proxy left it out."""


@dataclass(frozen=True)
class AppTokenCheck:
    """`apps.connections.open` issued a WebSocket URL for the app-level token; it carries a ticket, so it
    is never shown (`repr` hides it)."""

    url: str = field(repr=False)


async def _call(
    client: AsyncWebClient, method: str, *, deadline_s: float
) -> tuple[dict[str, object], Mapping[str, str]]:
    url = f"{client.base_url}{method}"
    try:
        async with asyncio.timeout(deadline_s):
            response = await client.api_call(method)
    except SlackApiError as exc:
        raise _slack_failure(exc, url) from exc
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        raise Unreachable(url, cause_of(exc, deadline_s=deadline_s)) from exc
    data = response.data
    if not isinstance(data, dict):
        raise Unreachable(url, f"HTTP {response.status_code}, not an answer from the Slack Web API")
    return data, response.headers or {}


async def check_bot_token(client: AsyncWebClient, *, deadline_s: float = 5.0) -> BotTokenCheck:
    """`auth.test` with the client's token (the bot token). Raises Refused (Slack said no) or Unreachable.

    `client` should not retry by itself (no retry handlers), so the deadline is the whole story."""
    data, headers = await _call(client, "auth.test", deadline_s=deadline_s)
    scopes = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    return BotTokenCheck(
        str(data.get("team", "")),
        str(data.get("user", "")),
        str(data.get("bot_id", "")),
        None if scopes is None else frozenset(s.strip() for s in scopes.split(",") if s.strip()),
    )


async def check_app_token(client: AsyncWebClient, *, deadline_s: float = 5.0) -> AppTokenCheck:
    """`apps.connections.open` with the client's token (the app-level token), as Socket Mode does first.

    The WebSocket URL it returns may be used once to connect (or left to expire). Raises Refused or
    Unreachable."""
    data, _ = await _call(client, "apps.connections.open", deadline_s=deadline_s)
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise Unreachable(f"{client.base_url}apps.connections.open", "the answer had no WebSocket URL")
    return AppTokenCheck(url)


_WHERE = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page "
    "(install the app to the workspace first)",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-...) with the scope connections:write under the "
    "app's Basic Information > App-Level Tokens (or use HTTP mode: BOT_MODE=http and SLACK_SIGNING_SECRET)",
}


def token_advice(variable: str, refused: Refused) -> str:
    """One sentence for the operator: which variable Slack refuses, why, and where the right value is."""
    where = _WHERE.get(variable, f"check {variable}")
    if refused.error == "not_allowed_token_type":
        kind = "an app-level token (xapp-...)" if variable == "SLACK_APP_TOKEN" else "a bot token (xoxb-...)"
        return f"Slack refuses {variable}: it is not {kind}; {where}"
    if refused.error == "missing_scope" and variable == "SLACK_APP_TOKEN":
        return f"Slack refuses {variable}: it lacks the scope connections:write; {where}"
    return f"Slack refuses {variable} ({refused.error}: {refused.cause}); {where}"


def tokens_advice(refused: Mapping[str, Refused]) -> str:
    """One line for every token Slack refuses, variable -> its refusal (insertion order kept): the same
    sentence as `token_advice` for one; for several, each variable with its error, then where each
    right value is, so an operator who replaced both tokens learns it from one start, not two."""
    if len(refused) == 1:
        [(variable, refusal)] = refused.items()
        return token_advice(variable, refusal)
    causes = {f"{r.error}: {r.cause}" for r in refused.values()}
    names = " and ".join(refused)
    if len(causes) == 1:
        head = f"Slack refuses {names} ({causes.pop()})"
    else:
        each = "; ".join(f"{v}: {r.error}, {r.cause}" for v, r in refused.items())
        head = f"Slack refuses {names} ({each})"
    fixes = "; ".join(f"{v}: {_WHERE.get(v, f'check {v}')}" for v in refused)
    return f"{head}; {fixes}"
