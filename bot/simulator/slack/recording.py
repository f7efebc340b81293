"""What the fake Slack recorded of the bot's calls, and waiting for one (Bolt keeps working after ack)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.simulator.slack.records import SlackCall
from bot.simulator.slack.state import SlackState


class CallRecord(SlackState):
    """Every Web API and ``response_url`` call the fake answered, refused ones included, oldest first."""

    @property
    def call_count(self) -> int:
        """How many calls were recorded so far; pass it as ``since`` to wait for a later call."""
        return len(self._calls)

    def calls(self, method: str | None = None) -> list[SlackCall]:
        """Recorded calls, oldest first, optionally of one method (including failed ones: check `.ok`)."""
        return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> SlackCall:
        """The most recent call of `method`; AssertionError when there was none."""
        matching = self.calls(method)
        if not matching:
            raise AssertionError(f"no {method} call recorded; seen: {self._seen()}")
        return matching[-1]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109  (the tests' familiar API; asyncio.timeout inside)
        *,
        since: int = 0,
    ) -> SlackCall:
        """Wait until a `method` call matching `predicate` is recorded (Bolt keeps working after ack).

        Calls already recorded count, from index `since` on (see `call_count`).
        """

        def find() -> SlackCall | None:
            for call in self._calls[since:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: find() is not None)
            except TimeoutError:
                raise TimeoutError(
                    f"no matching {method} call within {timeout}s; seen: {self._seen(since)}"
                ) from None
        found = find()
        assert found is not None
        return found

    def _seen(self, since: int = 0) -> str:
        return (
            ", ".join(c.method if c.ok else f"{c.method}({c.error})" for c in self._calls[since:]) or "none"
        )

    async def record(self, call: SlackCall) -> None:
        """Keep a call and wake whoever waits for one."""
        async with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
