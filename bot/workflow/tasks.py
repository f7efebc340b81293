"""Owns the bot's background tasks: Bolt keeps no reference to work that outlives ack(), so we do."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskKeeper:
    """Keeps a strong reference to each task, logs its failure, and drains them at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T] | None:
        if self._closing:
            coro.close()
            log.warning("not starting %s: shutting down", name)
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s failed: %s", task.get_name(), exc, exc_info=exc)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float) -> None:
        """Lets work in flight finish for a while, then cancels the rest (recovery picks it up)."""
        self._closing = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)

    async def idle(self, timeout_s: float = 10.0) -> None:
        """Waits until no task runs; for tests and the demo, never for synchronising the bot itself."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} background tasks still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)


class KeyedLocks:
    """One `asyncio.Lock` per key (a request, a person) while anyone holds or awaits it, dropped after:
    work on one key runs one at a time, in the order `hold` was called; other keys are not held up."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        """How many keys are held or awaited right now (none once all work is done)."""
        return len(self._locks)

    def hold(self, key: Hashable) -> AbstractAsyncContextManager[None]:
        """`async with locks.hold(key):`; the place in line is taken at the call, not at the `async with`,
        so work queued in background tasks keeps the order it was queued in."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return self._held(key, lock)

    @contextlib.asynccontextmanager
    async def _held(self, key: Hashable, lock: asyncio.Lock) -> AsyncIterator[None]:
        try:
            async with lock:
                yield
        finally:
            held, left = self._locks[key]
            if left > 1:
                self._locks[key] = (held, left - 1)
            else:
                del self._locks[key]
