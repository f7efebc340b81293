"""Group commit: small writes that arrive together share one transaction.

Under load a one-row write is mostly transaction overhead (BEGIN, COMMIT, hops through the driver's
thread, and on SQLite the single writer's queue). Whoever finds no write under way writes everything
queued so far; the others wait for that write and get its outcome, so every caller still returns only
once its rows are committed (or raises what the write raised). Kept by bench/ack_latency.py (audit rows
of clicks at 50 clients) and bench/execution.py (per-server marks and results of 1,000 servers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._lock = asyncio.Lock()
        self._queued: list[T] = []
        self._batch_done: asyncio.Future[None] | None = None

    async def add(self, items: Iterable[T]) -> None:
        """Queue `items` and return once the write that took them has committed."""
        if self._batch_done is None:
            self._batch_done = asyncio.get_running_loop().create_future()
        self._queued.extend(items)
        mine = self._batch_done
        async with self._lock:
            if not mine.done():
                batch, self._queued, self._batch_done = self._queued, [], None
                try:
                    await self._write(batch)
                except asyncio.CancelledError:
                    mine.cancel()
                    raise
                except Exception as exc:
                    mine.set_exception(exc)
                else:
                    mine.set_result(None)
        await mine
