"""One logical call to the ECS API: URL, authentication, the credential gate, bounds, retries, scrubbing.

Every concept module (listing, resets, jobs) calls the cloud through one `Caller`, so each call is
bounded, signed, retried, gated and scrubbed the same way. It also measures the bot's clock against the
gateway's `Date` header, so a refused signature can name a clock that is off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.ecs.auth import Authenticator
from bot.ecs.endpoints import Endpoints
from bot.ecs.error_answers import ERROR_CODES_ON_SUCCESS, error_from_response, parse_error_body
from bot.ecs.errors import CLOCK_OFFSET_WORTH_NAMING_S, EcsCredentialsRefused, EcsError, EcsProtocolError
from bot.ecs.gate import CredentialGate, Pass
from bot.ecs.retry import RetryPolicy, call_with_retries
from bot.ecs.scrub import Scrubber
from bot.ecs.signer import encode_query
from bot.ecs.transport import Answer, exchange

log = logging.getLogger("bot.ecs")


class Caller:
    """Makes calls for one project with one credential; shared by the client's concept modules."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Endpoints,
        project_id: str,
        auth: Authenticator,
        *,
        max_concurrency: int,
        timeout_s: float,
        retry: RetryPolicy,
        clock: Clock,
        gate: CredentialGate | None = None,
    ) -> None:
        self.session = session
        self.endpoints = endpoints
        self.project_id = project_id
        self.max_concurrency = max_concurrency
        self.retry = retry
        self.gate = gate or CredentialGate(clock=clock)
        #: The bot's clock minus the gateway's, in seconds, from the last answer with a `Date` header.
        self.clock_offset_s: float | None = None
        self._auth = auth
        self._clock = clock
        self._clock_warned = False
        self._timeout_s = timeout_s
        self._semaphore = asyncio.Semaphore(max_concurrency)
        #: The headers every call carries (read-only: the authenticator's are merged into a new dict).
        self._headers: Mapping[str, str] = {
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": project_id,
        }

    def scrubber(self, *secrets: str) -> Scrubber:
        """The scrubber of one call: its own secrets and the credentials' (read when first needed: the
        call may fetch the token)."""
        return Scrubber(secrets, read_later=self._auth.secrets)

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        payload: object = None,
        server_id: str | None = None,
        scrub: Scrubber | None = None,
    ) -> dict[str, Any]:
        """`answer`, read as a JSON object (an empty body is an empty object)."""
        scrub = scrub or self.scrubber()
        answer = await self.answer(
            method, path, query=query, payload=payload, server_id=server_id, scrub=scrub
        )
        return json_object(answer, server_id, scrub)

    async def answer(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        payload: object = None,
        server_id: str | None = None,
        scrub: Scrubber | None = None,
    ) -> Answer:
        """One logical call with retries per policy; a 2xx answer, else the `EcsError` it means.

        Any text of the cloud's in an error raised is scrubbed of the call's secrets (`scrub`; the
        credentials' alone if None).
        """
        scrub = scrub or self.scrubber()
        url = f"{self.endpoints.ecs}/v1/{self.project_id}{path}"
        if query:
            url += "?" + encode_query(query)
        body = json.dumps(payload).encode() if payload is not None else b""
        deadline = time.monotonic() + self.retry.deadline_s
        try:
            return await call_with_retries(
                self.retry, lambda: self._attempt(method, url, body, server_id, deadline, scrub)
            )
        except EcsError as error:
            raise scrubbed(error, scrub) from None

    async def _attempt(
        self, method: str, url: str, body: bytes, server_id: str | None, deadline: float, scrub: Scrubber
    ) -> Answer:
        answer = await self._exchange(method, url, body, server_id, deadline, scrub)
        if answer.status == 202 and answer.body:
            parsed = parse_error_body(answer.body, scrub)
            if parsed is not None and parsed.code in ERROR_CODES_ON_SUCCESS:
                raise error_from_response(answer.status, answer.headers, answer.body, server_id, scrub)
        return answer

    async def _exchange(
        self, method: str, url: str, body: bytes, server_id: str | None, deadline: float, scrub: Scrubber
    ) -> Answer:
        """One gated exchange (one more with fresh authentication if the first was refused and the
        authenticator can fix that: an expired token); a 2xx answer, else the `EcsError` it means.

        The gate is asked inside the bound, just before signing: a call queued behind the bound when the
        credentials are refused is never sent.
        """
        headers = self._headers
        async with self._semaphore:
            sent = await self.gate.enter()
            timeout_s = max(min(self._timeout_s, deadline - time.monotonic()), 0.001)
            try:
                applied = await self._auth.apply(method, url, headers, body)
                answer = await exchange(
                    self.session,
                    method,
                    url,
                    headers={**headers, **applied},
                    body=body,
                    timeout_s=timeout_s,
                    scrub=scrub,
                )
                if answer.status == 401 and await self._auth.on_unauthorized(applied):
                    applied = await self._auth.apply(method, url, headers, body)
                    answer = await exchange(
                        self.session,
                        method,
                        url,
                        headers={**headers, **applied},
                        body=body,
                        timeout_s=timeout_s,
                        scrub=scrub,
                    )
            except EcsCredentialsRefused as refusal:  # IAM refused to issue a token
                self._refused(sent, refusal)
                raise
            except BaseException:
                self.gate.inconclusive(sent)
                raise
        self._measure_clock(answer)
        if 200 <= answer.status < 300:
            self.gate.accepted(sent)
            return answer
        error = error_from_response(answer.status, answer.headers, answer.body, server_id, scrub)
        if isinstance(error, EcsCredentialsRefused):
            self._refused(sent, error)
        else:
            self.gate.accepted(sent)  # the gateway checked the credentials before anything else
        raise error

    def _refused(self, sent: Pass, error: EcsCredentialsRefused) -> None:
        error.explain(self.clock_offset_s, self._auth.what_to_check)
        self.gate.refused(sent, error)

    def _measure_clock(self, answer: Answer) -> None:
        date = answer.headers.get("Date")
        if not date:
            return
        try:
            theirs = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:
            return
        offset = (self._clock.now() - theirs).total_seconds()
        off = abs(offset) >= CLOCK_OFFSET_WORTH_NAMING_S
        if off and not self._clock_warned:
            # Said once while it lasts: at 15 minutes off, the gateway refuses every signature.
            log.warning(
                "ecs: the bot's clock is %.0f s %s the cloud's (%s); at 15 minutes the cloud refuses "
                "every signed call: correct the clock (NTP)",
                abs(offset),
                "ahead of" if offset > 0 else "behind",
                self.endpoints.ecs,
            )
        self._clock_warned = off
        self.clock_offset_s = offset


def json_object(answer: Answer, server_id: str | None, scrub: Scrubber) -> dict[str, Any]:
    """The answer's JSON object; an empty body is an empty object (the single reset answers nothing)."""
    if not answer.body.strip():
        return {}
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise EcsProtocolError(
            "the cloud answered with something that is not a JSON object",
            http_status=answer.status,
            request_id=scrub.text(answer.request_id),
            server_id=server_id,
        )
    return data


def scrubbed(error: EcsError, scrub: Scrubber) -> EcsError:
    """The error with the call's secrets removed from every text it carries (a second pass: the parser
    already scrubbed what it read; this covers texts composed later, like the IAM refusal sentence)."""
    error.message = scrub(error.message)
    error.cloud_message = scrub.text(error.cloud_message)
    error.code = scrub.text(error.code)
    error.request_id = scrub.text(error.request_id)
    error.args = (error.message,)
    return error
