"""Time as the bot reads it: one clock passed to every part that reads time, so tests move time forward
instead of sleeping. A leaf: it imports nothing of `bot`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the store, the workflow, the executor, the sweeper and the inventory read time from."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC: what timestamps, expiries and leases are made of."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back: for ages and intervals in memory."""
        ...


class SystemClock:
    """The real clock: `datetime.now(UTC)` and `time.monotonic()`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()
