"""Slack's per-method rate-limit tiers, counted per minute on the fake's clock.

Tier 1 allows about 1 call a minute, Tier 2 20, Tier 3 50, Tier 4 100; ``chat.postMessage`` is
"special": about one message a second per channel, with short bursts. Past the limit Slack answers
HTTP 429, ``{"ok": false, "error": "ratelimited"}`` and ``Retry-After`` seconds. Sources: each method's
reference page (Rate limits) and docs.slack.dev "Rate limits". The exact burst allowance is not
published: the fake allows the documented number per window, which is close enough to show whether
the bot honours ``Retry-After`` and stays within budget.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.open": 3,
    "conversations.info": 3,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "reactions.add": 3,
    "apps.connections.open": 1,
}
POST_MESSAGE_BURST = 5  # the short burst Slack tolerates before answering 429


class RateLimiter:
    """Sliding windows per (method, channel) key; `check` answers the Retry-After seconds or None."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def check(self, method: str, channel: str | None) -> int | None:
        """Count a call; None when within the limit, else how long to wait (what ``Retry-After`` says)."""
        if method == "chat.postMessage":
            key, allowed, window = (method, channel or ""), POST_MESSAGE_BURST, POST_MESSAGE_BURST * 1.0
        elif method in METHOD_TIERS:
            key, allowed, window = (method, ""), TIER_PER_MINUTE[METHOD_TIERS[method]], 60.0
        else:
            return None
        now = self.clock()
        calls = self._windows.setdefault(key, deque())
        while calls and now - calls[0] >= window:
            calls.popleft()
        if len(calls) >= allowed:
            return max(1, math.ceil(window - (now - calls[0])))
        calls.append(now)
        return None
