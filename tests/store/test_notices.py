"""The ledger of notices Slack refused, on SQLite and PostgreSQL: kept per request and unit, taken by one
replica at a time (compare-and-set), settled, dropped with their request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.domain import NewRequest, OwedNotice
from bot.store import Store

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def notice(request_id: int, unit: str = "requester_denied", **kw: object) -> OwedNotice:
    fields: dict[str, object] = {
        "route": "to_requester",
        "text": "Your request was denied",
        "attempts": 1,
        "next_at": NOW + timedelta(seconds=2),
        "until": NOW + timedelta(days=1),
    }
    fields.update(kw)
    return OwedNotice(request_id, unit, **fields)  # type: ignore[arg-type]


async def test_owed_taken_once_and_settled(
    open_store: Callable[[], Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    a, b = await open_store(), await open_store()
    rid = (await a.create_request_once(make_request(), [])).request.id
    await a.owe_notice(notice(rid))
    assert await b.notices_due(NOW) == [], "not before its next_at"
    [due] = await b.notices_due(NOW + timedelta(seconds=2))
    assert due == notice(rid)

    # Refused again: attempts and next_at move on, its `until` stays that of the first refusal.
    await b.owe_notice(
        notice(rid, attempts=2, next_at=NOW + timedelta(seconds=6), until=NOW + timedelta(days=9))
    )
    [again] = await a.notices_due(NOW + timedelta(seconds=6))
    assert (again.attempts, again.until) == (2, NOW + timedelta(days=1))

    # Two replicas take it at once: one wins.
    hold = NOW + timedelta(minutes=2)
    won = await asyncio.gather(a.take_notice(again, hold), b.take_notice(again, hold))
    assert sorted(won) == [False, True]
    assert await a.notices_due(NOW + timedelta(seconds=60)) == [], "held while one replica sends it"
    await b.settle_notice(rid, again.unit)
    assert await a.notices_due(NOW + timedelta(days=2)) == []


async def test_a_request_gone_owes_nothing(store: Store, make_request: Callable[..., NewRequest]) -> None:
    await store.owe_notice(notice(4242))
    assert await store.notices_due(NOW + timedelta(days=2)) == []


async def test_a_post_is_claimed_by_one_replica_until_its_hold_ends(
    open_store: Callable[[], Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    a, b = await open_store(), await open_store()
    rid = (await a.create_request_once(make_request(), [])).request.id
    until = NOW + timedelta(minutes=2)
    won = await asyncio.gather(a.claim_post(rid, "card", NOW, until), b.claim_post(rid, "card", NOW, until))
    assert sorted(won) == [False, True]
    assert await b.claim_post(rid, "dm", NOW, until), "each message has its own claim"
    assert not await b.claim_post(rid, "card", until - timedelta(seconds=1), until)
    assert await b.claim_post(rid, "card", until, until + timedelta(minutes=2)), "free once the hold ended"
    await b.release_post(rid, "card")
    assert await a.claim_post(rid, "card", NOW, until), "given back at once"
    assert not await a.claim_post(4242, "card", NOW, until), "no request, nothing to post"
