"""A NoticeLedger in memory, for notifier tests whose requests live in no database (made-up views).

The bot's own ledger is the store (bot/store/notices.py); the restart tests use that one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain import OwedNotice


class MemoryLedger:
    """Owed notices by (request id, unit); the same compare-and-set rules as the store's."""

    def __init__(self) -> None:
        self.owed: dict[tuple[int, str], OwedNotice] = {}
        self.reveals: dict[int, tuple[str, datetime]] = {}
        self.claims: dict[tuple[int, str], datetime] = {}

    async def owe_notice(self, notice: OwedNotice) -> None:
        earlier = self.owed.get((notice.request_id, notice.unit))
        self.owed[(notice.request_id, notice.unit)] = (
            replace(notice, until=earlier.until) if earlier else notice
        )

    async def notices_due(self, now: datetime, *, limit: int = 100) -> list[OwedNotice]:
        due = sorted((n for n in self.owed.values() if n.next_at <= now), key=lambda n: n.next_at)
        return due[:limit]

    async def take_notice(self, notice: OwedNotice, hold_until: datetime) -> bool:
        current = self.owed.get((notice.request_id, notice.unit))
        if current is None or current.next_at != notice.next_at:
            return False
        self.owed[(notice.request_id, notice.unit)] = replace(current, next_at=hold_until)
        return True

    async def settle_notice(self, request_id: int, unit: str) -> None:
        self.owed.pop((request_id, unit), None)

    async def claim_post(self, request_id: int, what: str, now: datetime, until: datetime) -> bool:
        held = self.claims.get((request_id, what))
        if held is not None and held > now:
            return False
        self.claims[(request_id, what)] = until
        return True

    async def release_post(self, request_id: int, what: str) -> None:
        self.claims.pop((request_id, what), None)

    async def reveal_offer_of(self, request_id: int, now: datetime) -> tuple[str, datetime] | None:
        found = self.reveals.get(request_id)
        return found if found is not None and found[1] > now else None
