"""Announcing reset calls before they go, so a caller that records announced servers as `sent` knows which
calls may have reached the cloud.

Every call is announced (`on_before_call`) before it goes, and goes only once that returned. A batch call
is announced just before it goes (`MarksAtCall`). Per-server calls are announced in groups (`MarksAhead`),
at most `mark_ahead_bound` servers ahead of the calls that took their place, and only as far ahead as
hides the time an announcement takes behind the calls in flight (`Pace`): none when calls are slow
beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("bot.ecs")

BeforeCall = Callable[[list[str]], Awaitable[None]]
"""Awaited with the ids of a call just before it goes; if it raises, the call is not sent."""


class Marks(Protocol):
    """How one reset run announces its calls: `ready` before a call goes, `settle` for one that will not."""

    async def ready(self, ids: list[str]) -> bool:
        """True once the call's servers are announced; False if that failed (the call must not go)."""

    async def settle(self, ids: list[str]) -> None:
        """Servers whose call will not go: announcements made for them land before their results."""

    async def close(self) -> None:
        """Ends announcements still under way."""


class Pace:
    """How long an announcement and a reset call take (moving averages over the client's life), in real
    time (`time.monotonic`, not the injected clock): it measures how fast the store and the cloud are."""

    __slots__ = ("announce_s", "call_s")

    def __init__(self) -> None:
        self.announce_s: float | None = None
        self.call_s: float | None = None

    @staticmethod
    def _mean(old: float | None, new: float) -> float:
        return new if old is None else 0.8 * old + 0.2 * new

    def announced(self, seconds: float) -> None:
        self.announce_s = self._mean(self.announce_s, seconds)

    def called(self, seconds: float) -> None:
        self.call_s = self._mean(self.call_s, seconds)

    def ahead(self, in_flight: int, bound: int) -> int:
        """Servers worth announcing ahead: what the calls in flight consume while one announcement is
        written, twice (one write under way, the next one's margin); 0 until both are measured."""
        if not self.announce_s or not self.call_s:
            return 0
        return min(bound, round(2 * in_flight * self.announce_s / self.call_s))


class MarksAtCall:
    """Announcements made by each call just before it goes (batch calls; or none without a callback)."""

    def __init__(self, on_before_call: BeforeCall | None) -> None:
        self._on_before_call = on_before_call

    async def ready(self, ids: list[str]) -> bool:
        if self._on_before_call is None:
            return True
        try:
            await self._on_before_call(list(ids))
        except Exception:
            _log_not_sent(len(ids))
            return False
        return True

    async def settle(self, ids: list[str]) -> None:
        return None

    async def close(self) -> None:
        return None


class MarksAhead:
    """The per-server resets' announcements, written in groups ahead of the calls, within a bound.

    A call asks for its server's mark once it holds its place among the calls in flight (`ready`) and
    goes once the write holding that mark succeeded; a server not yet in a write is written at once,
    with the next servers in call order up to the look-ahead. While fewer servers than the look-ahead
    are marked ahead of the calls and no write is under way, the next group is written in the
    background. So no call goes before its mark, at most `bound` servers are marked and not yet called
    (a crash leaves at most the calls in flight plus those as "may have been reset"), and when a call
    takes much longer than a write (`Pace`: a real cloud beside a local store) the look-ahead is 0: each
    server is marked as its call takes its place, and a crash report is exact.
    """

    def __init__(
        self, order: list[str], announce: BeforeCall, pace: Pace, *, in_flight: int, bound: int
    ) -> None:
        self._order = order
        self._announce = announce
        self._pace = pace
        self._in_flight = in_flight
        self._bound = bound
        self._next = 0  # index in `order` of the first server not in a write yet
        self._write_of: dict[str, asyncio.Future[None]] = {}
        self._ahead = 0  # servers in a write whose call has not asked yet
        self._topping_up = False  # a background write is under way
        self._tasks: set[asyncio.Task[None]] = set()

    async def ready(self, ids: list[str]) -> bool:
        """Wait until the call's marks are written; False if a write failed (the call must not go)."""
        missing = [i for i in ids if i not in self._write_of]
        if missing:
            following = self._following(max(self._lookahead() - self._ahead, 0), skip=set(missing))
            self._start([*missing, *following])
        writes = {self._write_of[i] for i in ids}
        self._ahead -= len(ids)
        self._top_up()
        try:
            for write in writes:
                await asyncio.shield(write)
        except Exception:
            _log_not_sent(len(ids))
            return False
        return True

    async def settle(self, ids: list[str]) -> None:
        """Servers whose call will not go: marks written ahead for them land before their results."""
        writes = {w for i in ids if (w := self._write_of.get(i)) is not None}
        self._ahead -= sum(i in self._write_of for i in ids)
        await asyncio.gather(*(asyncio.shield(w) for w in writes), return_exceptions=True)

    async def close(self) -> None:
        """Ends writes still under way (none once every call asked or settled; after a cancellation,
        the ones written ahead)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _lookahead(self) -> int:
        return self._pace.ahead(self._in_flight, self._bound)

    def _following(self, count: int, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """The next `count` servers in call order not in a write yet (nor in `skip`)."""
        found: list[str] = []
        while len(found) < count and self._next < len(self._order):
            server_id = self._order[self._next]
            self._next += 1
            if server_id not in self._write_of and server_id not in skip:
                found.append(server_id)
        return found

    def _top_up(self) -> None:
        if self._topping_up:
            return
        want = self._lookahead() - self._ahead
        if want > 0 and self._next < len(self._order):
            group = self._following(want)
            if group:
                self._start(group, background=True)

    def _start(self, group: list[str], *, background: bool = False) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for server_id in group:
            self._write_of[server_id] = done
        self._ahead += len(group)
        self._topping_up = self._topping_up or background
        task = asyncio.create_task(self._write(group, done, background))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return done

    async def _write(self, group: list[str], done: asyncio.Future[None], background: bool) -> None:
        started = time.monotonic()
        try:
            await self._announce(list(group))
        except BaseException as exc:  # handed to every call of the group: none of them goes
            if not done.done():
                done.set_exception(exc)
                done.exception()  # retrieved here: a group whose calls all settled must not warn
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            self._pace.announced(time.monotonic() - started)
            done.set_result(None)
        finally:
            if background:
                self._topping_up = False
        self._top_up()


def _log_not_sent(count: int) -> None:
    log.exception("ecs: on_before_call failed; %d server(s) not sent", count)
