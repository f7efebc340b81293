"""Break-glass confirmations held in the store, on SQLite and PostgreSQL: taken once (compare-and-set, even
by two replicas at once), only by their owner, only before expiry; swept once expired; no key kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.domain import PasswordMode, RebootMode
from bot.store import HoldOutcome, Store

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
IDS = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(300)]
REASON = 'INC-7 <!channel> `rm -rf` "quoted"\nsecond line ✓'


async def hold(store: Store, *, user: str = "U_IC", expires_in: timedelta = timedelta(minutes=15)) -> str:
    return await store.hold_break_glass(
        user, "prod-eu-de", IDS, REASON, PasswordMode.PER_SERVER, RebootMode.SOFT, expires_at=NOW + expires_in
    )


async def test_a_hold_is_taken_once_by_its_owner_with_every_field_as_given(store: Store) -> None:
    key = await hold(store)
    assert len(key) >= 32
    assert await hold(store) != key, "every hold its own key"

    other = await store.take_break_glass_hold(key, "U_OTHER", NOW)
    assert other.outcome == HoldOutcome.NOT_YOURS
    assert other.hold is None

    taken = await store.take_break_glass_hold(key, "U_IC", NOW)
    assert taken.outcome == HoldOutcome.TAKEN
    assert taken.hold is not None
    assert taken.hold.server_ids == tuple(IDS), "300 servers, in order: no size limit but the target's"
    assert (taken.hold.user_id, taken.hold.target, taken.hold.reason) == ("U_IC", "prod-eu-de", REASON)
    assert (taken.hold.password_mode, taken.hold.reboot) == (PasswordMode.PER_SERVER, RebootMode.SOFT)
    assert taken.hold.expires_at == NOW + timedelta(minutes=15)

    again = await store.take_break_glass_hold(key, "U_IC", NOW)
    assert again.outcome == HoldOutcome.USED
    assert again.hold is None
    assert (await store.take_break_glass_hold("made-up", "U_IC", NOW)).outcome == HoldOutcome.UNKNOWN


async def test_an_expired_hold_is_refused_then_swept(store: Store) -> None:
    key = await hold(store, expires_in=timedelta(minutes=15))
    kept = await hold(store, expires_in=timedelta(minutes=30))
    late = NOW + timedelta(minutes=15)
    assert (await store.take_break_glass_hold(key, "U_IC", late)).outcome == HoldOutcome.EXPIRED

    assert await store.drop_expired_break_glass_holds(late - timedelta(seconds=1)) == 0
    assert await store.drop_expired_break_glass_holds(late) == 1
    assert await store.drop_expired_break_glass_holds(late) == 0, "idempotent: any replica may sweep"
    assert (await store.take_break_glass_hold(key, "U_IC", late)).outcome == HoldOutcome.UNKNOWN
    assert (await store.take_break_glass_hold(kept, "U_IC", late)).outcome == HoldOutcome.TAKEN


async def test_two_replicas_taking_one_hold_at_once_one_wins(
    open_store: Callable[[], Awaitable[Store]],
) -> None:
    replicas = [await open_store() for _ in range(2)]
    for _ in range(5):
        key = await hold(replicas[0])
        results = await asyncio.gather(
            *(r.take_break_glass_hold(key, "U_IC", NOW) for r in replicas for _ in range(3))
        )
        outcomes = sorted(r.outcome for r in results)
        assert outcomes == [HoldOutcome.TAKEN] + [HoldOutcome.USED] * 5, outcomes


async def test_the_database_keeps_no_usable_key(
    store: Store, dump_database: Callable[[], Awaitable[bytes]]
) -> None:
    key = await hold(store)
    assert key.encode() not in await dump_database()
