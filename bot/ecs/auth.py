"""How requests prove who sends them: AK/SK signatures, or one IAM token shared and refreshed by all."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, SecretStr

from bot.clock import SYSTEM_CLOCK, Clock
from bot.ecs.error_answers import error_from_response
from bot.ecs.errors import EcsProtocolError
from bot.ecs.retry import RetryPolicy, retrying
from bot.ecs.scrub import Scrubber
from bot.ecs.signer import Signer
from bot.ecs.transport import exchange

log = logging.getLogger("bot.ecs")


class AkSkCredentials(BaseModel):
    """An access key pair; the secret key is hidden from repr and str."""

    model_config = ConfigDict(frozen=True)

    access_key: str
    secret_key: SecretStr


class PasswordCredentials(BaseModel):
    """An IAM user's name, password and account (domain) name; the password is hidden from repr and str."""

    model_config = ConfigDict(frozen=True)

    user: str
    password: SecretStr
    domain: str


class Authenticator(Protocol):
    """Adds authentication to a request that is otherwise complete."""

    async def apply(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        """Headers to add to this exact request."""
        ...

    async def on_unauthorized(self, applied: Mapping[str, str]) -> bool:
        """Called after a 401 to a request sent with `applied`; True if sending it again may succeed."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret a request may carry or the cloud may echo: keys, password, current token."""
        ...

    @property
    def what_to_check(self) -> str:
        """What an operator checks when the cloud refuses these credentials (part of a sentence)."""
        ...


class AkSkAuthenticator:
    """Signs each request; a 401 cannot be fixed by signing again."""

    what_to_check = "the target's access key and secret key (and the bot's clock)"

    def __init__(self, credentials: AkSkCredentials, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._credentials = credentials
        self._clock = clock
        self._signer = Signer(credentials.access_key, credentials.secret_key.get_secret_value())

    async def apply(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        return self._signer.sign(method, url, headers, body, self._clock.now())

    async def on_unauthorized(self, applied: Mapping[str, str]) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        # The access key is an identifier, but it is half of the pair: not for the approvers channel.
        return (self._credentials.access_key, self._credentials.secret_key.get_secret_value())


class TokenAuthenticator:
    """Gets an IAM project-scoped token, reuses it, and refreshes it once for all concurrent callers."""

    what_to_check = "the target's IAM user, password and domain"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        iam_endpoint: str,
        credentials: PasswordCredentials,
        project_id: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._session = session
        self._url = f"{iam_endpoint.rstrip('/')}/v3/auth/tokens?nocatalog=true"
        self._credentials = credentials
        self._project_id = project_id
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._margin = refresh_margin
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)

    def __repr__(self) -> str:
        return f"TokenAuthenticator(url={self._url!r}, user={self._credentials.user!r})"

    async def apply(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        return {"X-Auth-Token": await self.token()}

    async def on_unauthorized(self, applied: Mapping[str, str]) -> bool:
        async with self._lock:
            if applied.get("X-Auth-Token") == self._token:
                self._token = None  # the next caller fetches a new one; others already have it
        return True

    def secrets(self) -> tuple[str, ...]:
        password = self._credentials.password.get_secret_value()
        return (password, self._token) if self._token else (password,)

    async def token(self) -> str:
        """A token valid for at least the refresh margin; at most one IAM call in flight."""
        current = self._valid_token()
        if current is not None:
            return current
        async with self._lock:
            current = self._valid_token()
            if current is None:
                current, self._expires_at = await self._fetch()
                self._token = current
            return current

    def _valid_token(self) -> str | None:
        if self._token is not None and self._clock.now() + self._margin < self._expires_at:
            return self._token
        return None

    async def _fetch(self) -> tuple[str, datetime]:
        body = json.dumps(
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "name": self._credentials.user,
                                "password": self._credentials.password.get_secret_value(),
                                "domain": {"name": self._credentials.domain},
                            }
                        },
                    },
                    "scope": {"project": {"id": self._project_id}},
                }
            }
        ).encode()
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        scrub = Scrubber(self.secrets())
        async for attempt in retrying(self._retry):
            with attempt:
                answer = await exchange(
                    self._session,
                    "POST",
                    self._url,
                    headers=headers,
                    body=body,
                    timeout_s=self._timeout_s,
                    scrub=scrub,
                )
                if not 200 <= answer.status < 300:
                    error = error_from_response(answer.status, answer.headers, answer.body, scrub=scrub)
                    user = self._credentials.user
                    error.message = f"IAM refused to issue a token for user {user}: {error.message}"
                    raise error
        token = answer.headers.get("X-Subject-Token")
        if not token:
            raise EcsProtocolError(
                "IAM answered without an X-Subject-Token header",
                http_status=answer.status,
                request_id=answer.request_id,
            )
        log.debug("ecs: obtained an IAM token for user %s", self._credentials.user)
        return token, self._expiry(answer.body)

    def _expiry(self, body: bytes) -> datetime:
        try:
            raw = json.loads(body)["token"]["expires_at"]
            expires = datetime.fromisoformat(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise EcsProtocolError(
                f"IAM answered without a readable token.expires_at ({type(exc).__name__})"
            ) from None
        return expires if expires.tzinfo else expires.replace(tzinfo=UTC)


def authenticator_for(
    credentials: AkSkCredentials | PasswordCredentials,
    *,
    session: aiohttp.ClientSession,
    iam_endpoint: str,
    project_id: str,
    timeout_s: float,
    retry: RetryPolicy,
    clock: Clock = SYSTEM_CLOCK,
) -> Authenticator:
    """The authenticator that fits the credentials."""
    if isinstance(credentials, AkSkCredentials):
        return AkSkAuthenticator(credentials, clock=clock)
    return TokenAuthenticator(
        session, iam_endpoint, credentials, project_id, timeout_s=timeout_s, retry=retry, clock=clock
    )
