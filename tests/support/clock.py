"""Clocks the test moves: time passes when the test says so, never by sleeping. `FakeClock` for the bot
(`bot.clock.Clock`); `ManualClock` for the fakes, which read plain seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """`bot.clock.Clock` for tests: starts at the real time (so rows written with it sort among real
    ones) and stands still until `advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, by: timedelta) -> datetime:
        """Moves both readings forward by `by`; returns the new `now`."""
        if by < timedelta(0):
            raise ValueError("a clock does not go back")
        self._now += by
        self._monotonic += by.total_seconds()
        return self._now


class ManualClock:
    """Seconds since the epoch for the fakes (the ECS simulator and the fake Slack take a `() -> float`):
    `clock.advance(3.1)` or `clock.now += 3.1`, so trigger expiry, token lifetimes, lockouts and rate
    windows need no sleep."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
