"""Exactly once across replicas: two Store instances on one database race for the same request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.domain import NewRequest, RequestStatus, RevealOutcome
from bot.store import Store

from .conftest import finish

StoreFactory = Callable[..., Awaitable[Store]]


async def test_fifty_concurrent_claims_have_exactly_one_winner(
    store: Store, open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    replica_b = await open_store()
    req = (await store.create_request_once(make_request(status=RequestStatus.PENDING), [])).request

    async def claim(worker: int) -> str | None:
        replica = store if worker % 2 else replica_b
        won = await replica.transition(
            req.id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by=f"worker-{worker}"
        )
        return None if won is None else won.claimed_by

    results = await asyncio.gather(*(claim(i) for i in range(50)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    final = await replica_b.get_request(req.id)
    assert final is not None
    assert final.status is RequestStatus.EXECUTING
    assert final.claimed_by == winners[0]


async def test_approve_and_cancel_race_ends_in_one_state(
    store: Store, open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    replica_b = await open_store()
    for _ in range(10):
        req = (await store.create_request_once(make_request(status=RequestStatus.PENDING), [])).request
        approve = store.transition(  # the claim the last approval makes
            req.id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by="worker-a"
        )
        cancel = replica_b.transition(req.id, {RequestStatus.PENDING}, RequestStatus.CANCELLED)
        results = await asyncio.gather(approve, cancel)
        moved = [r for r in results if r is not None]
        assert len(moved) == 1
        final = await store.get_request(req.id)
        assert final is not None
        assert final.status is moved[0].status


async def test_concurrent_reveals_hand_out_the_secret_once(
    store: Store, open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    from datetime import UTC, datetime, timedelta

    replica_b = await open_store()
    req = (await store.create_request_once(make_request(), [])).request
    await store.seal_secret(req.id, "U_REQ", "Sup3r-Secret!pw")
    token = await finish(store, req.id, datetime.now(UTC) + timedelta(minutes=15))
    now = datetime.now(UTC)
    lease_until = now + timedelta(seconds=30)
    results = await asyncio.gather(
        *((store if i % 2 else replica_b).lease_reveal(token, "U_REQ", now, lease_until) for i in range(20))
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count(RevealOutcome.LEASED) == 1
    assert outcomes.count(RevealOutcome.BEING_SHOWN) == 19
    assert [r.secret for r in results if r.secret] == ["Sup3r-Secret!pw"]
    [holder] = [r for r in results if r.lease]
    assert holder.lease is not None
    confirms = await asyncio.gather(
        store.confirm_reveal(token, holder.lease, now), replica_b.confirm_reveal(token, holder.lease, now)
    )
    assert sorted(confirms) == [False, True]
    after = await replica_b.lease_reveal(token, "U_REQ", now, lease_until)
    assert after.outcome is RevealOutcome.ALREADY_REVEALED


async def test_one_replica_takes_over_a_dead_execution(
    store: Store, open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    from datetime import UTC, datetime, timedelta

    replica_b = await open_store()
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    req = (await store.create_request_once(make_request(), [])).request
    await store.transition(
        req.id, {RequestStatus.PREFLIGHT}, RequestStatus.EXECUTING, claimed_by="dead", now=long_ago
    )
    now = datetime.now(UTC)
    results = await asyncio.gather(
        *(
            (store if i % 2 else replica_b).take_over_execution(
                req.id, now - timedelta(minutes=1), f"rescuer-{i}", now
            )
            for i in range(30)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    final = await store.get_request(req.id)
    assert final is not None
    assert final.claimed_by == winners[0].claimed_by


async def test_no_decision_lands_on_a_request_a_concurrent_transition_closed(
    store: Store, open_store: Callable[..., Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    """Approvals from two replicas racing the compare-and-set that closes the request all get an
    answer (no deadlock on the row lock), and once the request left `pending` none is recorded."""
    from bot.domain import Decision

    other = await open_store()
    req = (await store.create_request_once(make_request(status=RequestStatus.PENDING), [])).request
    pending = {RequestStatus.PENDING}

    async def approve(i: int) -> bool:
        return await (store if i % 2 else other).add_decision(
            req.id, f"U_{i:02d}", Decision.APPROVE, None, while_in=pending
        )

    async def close() -> None:
        await asyncio.sleep(0)
        assert await other.transition(req.id, pending, RequestStatus.EXPIRED) is not None

    results = await asyncio.gather(*(approve(i) for i in range(30)), close())
    landed = sum(1 for r in results[:30] if r)
    assert len(await store.decisions(req.id)) == landed
    assert not await store.add_decision(req.id, "U_LATE", Decision.APPROVE, None, while_in=pending)
    assert len(await store.decisions(req.id)) == landed


async def test_identical_submissions_at_once_make_one_request(
    store: Store, open_store: StoreFactory, make_request: Callable[..., NewRequest]
) -> None:
    """Two replicas recording the same submission (a replayed body) at the same moment: the unique
    submission key, not a read before the write, leaves exactly one request with its servers."""
    from bot.domain import NewServer

    replica_b = await open_store()
    servers = [NewServer(f"s-{i}", f"web-{i}") for i in range(3)]
    results = await asyncio.gather(
        *(
            (store if i % 2 else replica_b).create_request_once(
                make_request(submission_key="slack-view:VRACE"), servers
            )
            for i in range(20)
        )
    )
    assert sum(r.created for r in results) == 1
    assert len({r.request.id for r in results}) == 1
    only = await store.list_requests()
    assert [r.id for r in only] == [results[0].request.id]
    assert [s.server_id for s in await store.servers(only[0].id)] == ["s-0", "s-1", "s-2"]
