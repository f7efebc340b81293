"""The one way tests wait for something another process or task does: poll it with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], within_s: float, what: str, *, interval: float = 0.05
) -> T: ...


@overload
async def eventually(check: Callable[[], T], within_s: float, what: str, *, interval: float = 0.05) -> T: ...


async def eventually(check: Callable[[], Any], within_s: float, what: str, *, interval: float = 0.05) -> Any:
    """Calls `check` (plain or async) until it returns something truthy, and returns that; TimeoutError
    naming `what` when `within_s` seconds pass first. Never a sleep standing in for the thing itself."""
    deadline = time.monotonic() + within_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within_s}s waiting for {what}")
        await asyncio.sleep(interval)
