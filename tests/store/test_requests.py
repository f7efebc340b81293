"""Requests, servers, decisions, audit and message refs on both back ends."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain import Decision, MessageRef, NewRequest, NewServer, RequestStatus, ServerPhase
from bot.store import ServerUpdate, Store, UnknownRequest


async def test_create_get_and_list(
    store: Store, make_request: Callable[..., NewRequest], make_servers: Callable[[int], list[NewServer]]
) -> None:
    first = (await store.create_request_once(make_request(), make_servers(3))).request
    second = (
        await store.create_request_once(make_request(requester_id="U_OTHER", target="test-eu-nl"), [])
    ).request
    assert first.id != second.id
    assert first.status is RequestStatus.PREFLIGHT
    assert first.created_at.tzinfo is not None
    assert first.created_at.utcoffset() == timedelta(0)
    assert first.message_refs == {}

    got = await store.get_request(first.id)
    assert got == first
    assert await store.get_request(999_999) is None

    assert [r.id for r in await store.list_requests()] == [second.id, first.id]
    assert [r.id for r in await store.list_requests(requester_id="U_REQ")] == [first.id]
    assert [r.id for r in await store.list_requests(target="test-eu-nl")] == [second.id]
    assert await store.list_requests(statuses={RequestStatus.PENDING}) == []
    assert len(await store.list_requests(limit=1)) == 1

    rows = await store.servers(first.id)
    assert [s.name for s in rows] == ["web-00000", "web-00001", "web-00002"]
    assert all(s.phase is ServerPhase.WAITING and s.plugin_installed for s in rows)


async def test_timestamps_round_trip_as_aware_utc(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    expires = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    created = (await store.create_request_once(make_request(expires_at=expires), [])).request
    got = await store.get_request(created.id)
    assert got is not None
    assert got.expires_at == expires
    assert got.expires_at.tzinfo is not None


async def test_other_time_zones_are_stored_as_the_same_instant(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    expires = datetime(2031, 5, 6, 1, 0, tzinfo=india)  # 2031-05-05 19:30 UTC
    created = (await store.create_request_once(make_request(expires_at=expires), [])).request
    assert created.expires_at == expires
    assert created.expires_at.utcoffset() == timedelta(0)
    just_before = datetime(2031, 5, 5, 19, 29, tzinfo=UTC)
    assert await store.due_for_expiry(just_before) == []
    assert [
        r.id for r in await store.due_for_expiry(just_before.astimezone(india) + timedelta(minutes=1))
    ] == [created.id]


async def test_naive_datetime_is_refused(store: Store, make_request: Callable[..., NewRequest]) -> None:
    with pytest.raises(Exception, match="naive"):
        (await store.create_request_once(make_request(expires_at=datetime(2031, 1, 1)), [])).request


async def test_transition_is_compare_and_set(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    moved = await store.transition(req.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING)
    assert moved is not None
    assert moved.status is RequestStatus.PENDING
    assert moved.updated_at >= req.updated_at

    assert await store.transition(req.id, {RequestStatus.PREFLIGHT}, RequestStatus.CANCELLED) is None
    assert await store.transition(req.id, [], RequestStatus.CANCELLED) is None
    assert await store.transition(424242, {RequestStatus.PENDING}, RequestStatus.CANCELLED) is None

    now = datetime.now(UTC)
    claimed = await store.transition(
        req.id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by="replica-a", now=now
    )
    assert claimed is not None
    assert claimed.claimed_by == "replica-a"
    assert claimed.heartbeat_at == now
    assert claimed.updated_at == now

    done = await store.transition(
        req.id, {RequestStatus.EXECUTING}, RequestStatus.SUCCEEDED, outcome_message="2 of 2 reset"
    )
    assert done is not None
    assert done.outcome_message == "2 of 2 reset"
    assert done.status.is_final
    assert (await store.get_request(req.id)) == done


async def test_heartbeat_and_stale_executions(store: Store, make_request: Callable[..., NewRequest]) -> None:
    t0 = datetime.now(UTC)
    req = (await store.create_request_once(make_request(), [])).request
    await store.transition(req.id, {RequestStatus.PREFLIGHT}, RequestStatus.EXECUTING, claimed_by="a", now=t0)

    assert await store.heartbeat(req.id, "a", t0 + timedelta(seconds=30))
    assert not await store.heartbeat(req.id, "b", t0 + timedelta(seconds=30))
    assert await store.stale_executions(t0 + timedelta(seconds=10)) == []
    stale = await store.stale_executions(t0 + timedelta(seconds=31))
    assert [r.id for r in stale] == [req.id]

    # Recovery takes the claim over with a CAS on the heartbeat; the old worker's heartbeat then fails.
    assert await store.take_over_execution(req.id, t0 + timedelta(seconds=10), "b", t0) is None
    taken = await store.take_over_execution(
        req.id, t0 + timedelta(seconds=31), "b", t0 + timedelta(seconds=60)
    )
    assert taken is not None
    assert taken.claimed_by == "b"
    assert taken.heartbeat_at == t0 + timedelta(seconds=60)
    assert not await store.heartbeat(req.id, "a", t0 + timedelta(seconds=61))
    await store.transition(req.id, {RequestStatus.EXECUTING}, RequestStatus.FAILED)
    assert not await store.heartbeat(req.id, "b", t0 + timedelta(seconds=62))
    assert await store.stale_executions(t0 + timedelta(hours=1)) == []


async def test_requests_in_expiry_and_reminders(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    now = datetime.now(UTC)
    old = (await store.create_request_once(make_request(expires_in=timedelta(minutes=-1)), [])).request
    fresh = (await store.create_request_once(make_request(), [])).request
    gone = (await store.create_request_once(make_request(expires_in=timedelta(minutes=-1)), [])).request
    await store.transition(fresh.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING)
    await store.transition(gone.id, {RequestStatus.PREFLIGHT}, RequestStatus.DENIED)

    assert [r.id for r in await store.due_for_expiry(now)] == [old.id]
    assert {r.id for r in await store.requests_in({RequestStatus.PREFLIGHT, RequestStatus.PENDING})} == {
        old.id,
        fresh.id,
    }
    assert await store.requests_in([]) == []

    due = await store.due_for_reminder(now + timedelta(minutes=1))
    assert [r.id for r in due] == [fresh.id]
    assert await store.due_for_reminder(now - timedelta(minutes=1)) == []
    assert await store.mark_reminded(fresh.id, now)
    assert not await store.mark_reminded(fresh.id, now)
    assert await store.due_for_reminder(now + timedelta(minutes=1)) == []
    got = await store.get_request(fresh.id)
    assert got is not None
    assert got.reminded_at == now


async def test_message_refs_merge(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    await store.set_message_refs(req.id, {"card": MessageRef("C123", "1700000000.0001")})
    await store.set_message_refs(req.id, {"dm": MessageRef("D456", "1700000000.0002")})
    await store.set_message_refs(req.id, {"card": MessageRef("C123", "1700000000.0003")})
    got = await store.get_request(req.id)
    assert got is not None
    assert got.message_refs == {
        "card": MessageRef("C123", "1700000000.0003"),
        "dm": MessageRef("D456", "1700000000.0002"),
    }
    with pytest.raises(UnknownRequest):
        await store.set_message_refs(999_999, {"card": MessageRef("C1", "1.0")})


async def test_concurrent_message_refs_all_survive(
    store: Store, open_store: object, make_request: Callable[..., NewRequest]
) -> None:
    import asyncio

    other: Store = await open_store()  # type: ignore[operator]
    req = (await store.create_request_once(make_request(), [])).request
    await asyncio.gather(
        *(
            (store if i % 2 else other).set_message_refs(req.id, {f"k{i}": MessageRef("C1", f"{i}.0")})
            for i in range(20)
        )
    )
    got = await store.get_request(req.id)
    assert got is not None
    assert got.message_refs == {f"k{i}": MessageRef("C1", f"{i}.0") for i in range(20)}


async def test_update_servers_leaves_none_fields_alone(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    req = (
        await store.create_request_once(
            make_request(),
            [
                NewServer("s-1", "alpha", os_type="Linux", cloud_status="ACTIVE", plugin_installed=True),
                NewServer("s-2", "beta", os_type="Windows", locked=True, preflight_error="locked by admin"),
            ],
        )
    ).request
    await store.update_servers(
        req.id,
        [
            ServerUpdate("s-1", phase=ServerPhase.FAILED, error_code="Ecs.0114", error_message="throttled"),
            ServerUpdate("s-2", locked=False, clear_preflight_error=True, cloud_status="SHUTOFF"),
            ServerUpdate("not-in-request", phase=ServerPhase.SUCCEEDED),
        ],
    )
    await store.update_servers(req.id, [ServerUpdate("s-1", phase=ServerPhase.SUCCEEDED)])
    await store.update_servers(req.id, [])
    alpha, beta = await store.servers(req.id)
    assert (alpha.phase, alpha.error_code, alpha.error_message) == (
        ServerPhase.SUCCEEDED,
        "Ecs.0114",
        "throttled",
    )
    assert (alpha.os_type, alpha.cloud_status, alpha.plugin_installed) == ("Linux", "ACTIVE", True)
    assert (beta.locked, beta.preflight_error, beta.cloud_status, beta.os_type) == (
        False,
        None,
        "SHUTOFF",
        "Windows",
    )
    assert beta.resettable
    assert beta.phase is ServerPhase.WAITING
    await store.update_servers(req.id, [ServerUpdate("s-2", preflight_error="gone")])
    assert (await store.servers(req.id))[1].preflight_error == "gone"


async def test_update_servers_for_ten_thousand_rows_is_fast(
    store: Store, make_request: Callable[..., NewRequest], make_servers: Callable[[int], list[NewServer]]
) -> None:
    many = make_servers(10_000)
    started = time.perf_counter()
    req = (await store.create_request_once(make_request(), many)).request
    created = time.perf_counter() - started

    started = time.perf_counter()
    await store.update_servers(
        req.id,
        [ServerUpdate(s.server_id, phase=ServerPhase.SENT, error_code=None) for s in many],
    )
    updated = time.perf_counter() - started
    rows = await store.servers(req.id)
    assert len(rows) == 10_000
    assert all(r.phase is ServerPhase.SENT for r in rows)
    print(f"10,000 servers: insert {created:.2f}s, update {updated:.2f}s")
    assert created < 10, created
    assert updated < 10, updated


async def test_decisions_one_per_user(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    assert await store.add_decision(req.id, "U_A", Decision.APPROVE, None)
    assert not await store.add_decision(req.id, "U_A", Decision.DENY, "changed my mind")
    assert await store.add_decision(req.id, "U_B", Decision.DENY, "not during the freeze")
    got = await store.decisions(req.id)
    assert [(d.user_id, d.decision, d.reason) for d in got] == [
        ("U_A", Decision.APPROVE, None),
        ("U_B", Decision.DENY, "not during the freeze"),
    ]
    assert got[0].created_at.tzinfo is not None
    with pytest.raises(UnknownRequest):
        await store.add_decision(999_999, "U_A", Decision.APPROVE, None)


async def test_concurrent_duplicate_decisions_count_once(
    store: Store, open_store: object, make_request: Callable[..., NewRequest]
) -> None:
    import asyncio

    other: Store = await open_store()  # type: ignore[operator]
    req = (await store.create_request_once(make_request(), [])).request
    results = await asyncio.gather(
        *((store if i % 2 else other).add_decision(req.id, "U_A", Decision.APPROVE, None) for i in range(20))
    )
    assert results.count(True) == 1
    assert len(await store.decisions(req.id)) == 1


async def test_audit_keeps_order_and_filters(store: Store, make_request: Callable[..., NewRequest]) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    await store.add_audit(req.id, "U_REQ", "request.created", {"servers": 2, "target": "prod-eu-de"})
    await store.add_audit(None, "system", "bot.started")
    await store.add_audit(req.id, "U_A", "request.approved", {"approvals": [1, 2]})
    trail = await store.audit(req.id)
    assert [e.event for e in trail] == ["request.created", "request.approved"]
    assert trail[0].detail == {"servers": 2, "target": "prod-eu-de"}
    assert trail[1].detail == {"approvals": [1, 2]}
    assert trail[0].id < trail[1].id
    assert trail[0].created_at <= trail[1].created_at
    everything = await store.audit()
    assert [e.event for e in everything] == ["request.created", "bot.started", "request.approved"]
    assert everything[1].request_id is None
    assert everything[1].detail == {}
    assert [e.event for e in await store.audit(limit=2)] == ["bot.started", "request.approved"]


async def test_same_submission_key_again_returns_the_first_request_and_writes_nothing(
    store: Store, make_request: Callable[..., NewRequest], make_servers: Callable[[int], list[NewServer]]
) -> None:
    first = await store.create_request_once(make_request(submission_key="slack-view:V1"), make_servers(2))
    assert first.created
    assert first.request.submission_key == "slack-view:V1"
    before = await store.servers(first.request.id)

    again = await store.create_request_once(
        make_request(submission_key="slack-view:V1", reason="INC-43 a different body"), make_servers(5)
    )
    assert not again.created
    assert again.request == first.request
    assert (
        await store.create_request_once(make_request(submission_key="slack-view:V1"), [])
    ).request == first.request
    assert await store.list_requests() == [first.request]
    assert await store.servers(first.request.id) == before
    assert await store.audit() == []
    assert await store.request_for_submission("slack-view:V1") == first.request
    assert await store.request_for_submission("slack-view:V2") is None


async def test_requests_without_a_submission_key_never_collide(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    one = await store.create_request_once(make_request(), [])
    two = await store.create_request_once(make_request(), [])
    other_key = await store.create_request_once(make_request(submission_key="slack-view:V2"), [])
    assert [one.created, two.created, other_key.created] == [True, True, True]
    assert len({one.request.id, two.request.id, other_key.request.id}) == 3
    assert one.request.submission_key is None


async def test_take_over_stalled_is_compare_and_set(
    store: Store, open_store: Callable[..., Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    import asyncio

    other = await open_store()
    req = (await store.create_request_once(make_request(), [])).request
    later = req.updated_at + timedelta(minutes=3)
    pre = RequestStatus.PREFLIGHT
    assert await store.take_over_stalled(req.id, pre, req.updated_at - timedelta(seconds=1), later) is None
    results = await asyncio.gather(
        *(
            (other if i % 2 else store).take_over_stalled(req.id, pre, req.updated_at, later)
            for i in range(20)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].updated_at == later
    assert winners[0].status is RequestStatus.PREFLIGHT
    # Taken over: it counts as fresh again; and a request in another status is never taken.
    assert await store.take_over_stalled(req.id, pre, req.updated_at, later) is None
    await store.transition(req.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING, now=req.updated_at)
    assert await store.take_over_stalled(req.id, pre, later, later) is None
    taken = await store.take_over_stalled(req.id, RequestStatus.PENDING, later, later + timedelta(minutes=1))
    assert taken is not None
    assert taken.status is RequestStatus.PENDING
