"""Posting what `SlackRequests` built to the bot, as Slack posts: timed, and an event sent again on failure.

With a linked `FakeSlack`, each answer goes to it (answers), which shows what Slack would show the
person and applies a modal's answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp

from bot.simulator.slack import limits
from bot.simulator.slack.signed import SignedRequest

if TYPE_CHECKING:
    from bot.simulator.slack.server import FakeSlack


class RequestDelivery:
    """POSTs signed requests to the bot's URL; `slack` (a FakeSlack, or None) takes each answer."""

    slack: FakeSlack | None

    async def deliver(
        self, url: str, request: SignedRequest, session: aiohttp.ClientSession | None = None
    ) -> tuple[int, str]:
        """POST a signed request to the bot and return (status, body).

        With a linked FakeSlack, a modal submission's answer is applied as Slack would (errors shown,
        view updated or pushed, modal closed), and a command's non-empty answer is shown to its user.
        What Slack shows the person instead when the bot fails to answer (not 200) or answers after
        Slack's 3 s deadline is recorded in the fake's `shown_errors` (`FakeSlack.take_answer`). A late
        answer is still applied, unlike on Slack, so a loaded test machine does not change a test's
        outcome: assert on `shown_errors` to check the deadline.
        """
        status, text, elapsed = await self._post(url, request.body, request.headers, session)
        if self.slack is not None:
            self.slack.take_answer(request, status, text, elapsed)
        return status, text

    async def deliver_event(
        self,
        url: str,
        request: SignedRequest,
        session: aiohttp.ClientSession | None = None,
        *,
        retries: int = 3,
    ) -> list[tuple[int, str]]:
        """POST an Events API callback as Slack does: again (up to `retries` times) while the bot fails
        to answer 200 within 3 s, with ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``.

        Slack waits about a minute, then five, between attempts; the fake retries at once. Returns
        every attempt's (status, body).
        """
        answers: list[tuple[int, str]] = []
        headers = dict(request.headers)
        for attempt in range(retries + 1):
            status, text, elapsed = await self._post(url, request.body, headers, session)
            answers.append((status, text))
            if status == 200 and elapsed <= limits.ACK_DEADLINE_SECONDS:
                break
            reason = "http_timeout" if status == 200 else "http_error"
            headers = {
                **request.headers,
                "X-Slack-Retry-Num": str(attempt + 1),
                "X-Slack-Retry-Reason": reason,
            }
        return answers

    @staticmethod
    async def _post(
        url: str, body: bytes, headers: Mapping[str, str], session: aiohttp.ClientSession | None
    ) -> tuple[int, str, float]:
        own = session is None
        client = session or aiohttp.ClientSession()
        started = time.monotonic()
        try:
            async with client.post(url, data=body, headers=dict(headers)) as response:
                return response.status, await response.text(), time.monotonic() - started
        finally:
            if own:
                await client.close()
