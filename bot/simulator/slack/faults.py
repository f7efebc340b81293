"""Scripted faults: "method M answers error E the next N times", optionally for one channel or user.

Tests read like ``fake.fail("chat.update", "message_not_found", times=1)``; a fault can also be an
HTTP status (429 with ``Retry-After``, 5xx) or a timeout (the request is held, never answered in time).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.simulator.slack.records import JsonDict


@dataclass
class SlackFault:
    """One scripted answer; `times` None fires until cleared. `status` 200 answers ``ok: false``."""

    method: str
    error: str
    times: int | None = 1
    status: int = 200
    channel: str | None = None
    user: str | None = None
    retry_after: int | None = None
    hold_s: float | None = None  # a timeout: hold the request this long, then answer 504
    hits: int = 0

    @property
    def spent(self) -> bool:
        """True once the fault fired `times` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, args: JsonDict, channel: str | None) -> bool:
        """Whether this fault applies to a call of `method` with `args` (`channel` resolved from them)."""
        if self.spent or self.method not in (method, "*"):
            return False
        if self.channel is not None and self.channel not in (channel, args.get("channel")):
            return False
        if self.user is not None:
            named = {str(args.get(k) or "") for k in ("user", "user_id")}
            named |= set(str(args.get("users") or "").split(","))
            if self.user not in named:
                return False
        return True


def take(faults: list[SlackFault], method: str, args: JsonDict, channel: str | None) -> SlackFault | None:
    """The first fault matching the call, counted as fired; spent faults are dropped."""
    for fault in faults:
        if fault.matches(method, args, channel):
            fault.hits += 1
            if fault.spent:
                faults.remove(fault)
            return fault
    return None
