"""Limits on what one requester can ask for: open requests, submissions per minute, one server in one
open request per target. Counted in the store, so replicas sharing a database share the limits.

A rate-limit library (e.g. `limits`) keeps its counters in memory, Redis or memcached; the bot's replicas
share only their database, and its rows already say who asked what and when, so the counts come from
there. Two submissions racing on two replicas can both pass the same count: the limits are a brake on
floods (40 submissions in 11 seconds), not an exact quota.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import FINAL_STATUSES, NewServer, RequestStatus
from bot.store import Store
from bot.workflow import sentences as say

UNFINISHED = frozenset(RequestStatus) - FINAL_STATUSES
"""A request in any of these still holds its servers and counts against its requester."""


@dataclass(frozen=True)
class RequestLimits:
    """Per requester: requests not finished at once, and submissions in any minute."""

    max_open_requests: int = 5
    max_submissions_per_minute: int = 5


async def over_limit(store: Store, limits: RequestLimits, requester_id: str, now: datetime) -> str | None:
    """Why this requester may not submit now (a sentence for them), or None."""
    unfinished = await store.count_requests(requester_id=requester_id, statuses=UNFINISHED)
    if unfinished >= limits.max_open_requests:
        return say.too_many_open(unfinished)
    recent = await store.count_requests(requester_id=requester_id, since=now - timedelta(minutes=1))
    if recent >= limits.max_submissions_per_minute:
        return say.too_many_per_minute(recent)
    return None


async def already_requested(store: Store, target: str, servers: Sequence[NewServer]) -> str | None:
    """A sentence naming the open requests of `target` that already hold some of these servers, or None."""
    held: Mapping[str, int] = await store.open_requests_with(
        target, [s.server_id for s in servers], UNFINISHED
    )
    if not held:
        return None
    by_request: dict[int, list[str]] = {}
    for server in servers:
        if server.server_id in held:
            by_request.setdefault(held[server.server_id], []).append(server.name or server.server_id)
    return say.already_requested(target, by_request)
