"""The one way tests wait for something another process or task does: poll it with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]], within_s: float, what: str, *, interval: float = 0.05
) -> T:
    """Calls `check` (plain or async) until it returns something truthy, and returns that; TimeoutError
    naming `what` when `within_s` seconds pass first. Never a sleep standing in for the thing itself."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within_s}s waiting for {what}")
        await asyncio.sleep(interval)
