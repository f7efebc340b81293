"""Store methods of the approval -> reset -> delivery path: each change and its audit in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import NewRequest, NewServer, RequestStatus, ServerPhase
from bot.store import ServerUpdate, Store, UnknownRequest


async def _pending(
    store: Store, make_request: Callable[..., NewRequest], servers: list[NewServer], **kw: object
) -> int:
    req = (await store.create_request_once(make_request(**kw), servers)).request
    assert await store.transition(req.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING) is not None
    return req.id


async def test_transition_writes_its_audit_only_when_it_wins(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    req = (await store.create_request_once(make_request(), [])).request
    moved = await store.transition(
        req.id, {RequestStatus.PREFLIGHT}, RequestStatus.PENDING, audit=("bot", "ready", {"n": 1})
    )
    assert moved is not None
    lost = await store.transition(
        req.id, {RequestStatus.PREFLIGHT}, RequestStatus.CANCELLED, audit=("U1", "cancelled", None)
    )
    assert lost is None
    events = await store.audit(req.id)
    assert [(e.actor, e.event, e.detail) for e in events] == [("bot", "ready", {"n": 1})]


async def test_approve_counts_then_claims_on_the_last_approval(
    store: Store, make_request: Callable[..., NewRequest], make_servers: Callable[[int], list[NewServer]]
) -> None:
    rid = await _pending(store, make_request, make_servers(2), approvals_required=2)
    first = await store.approve(rid, "U_A", approvals_required=2, claimed_by="w1")
    assert first.recorded
    assert first.approvals == 1
    assert first.claimed is None
    assert first.status is RequestStatus.PENDING
    assert (await store.get_request(rid)).status is RequestStatus.PENDING  # type: ignore[union-attr]

    again = await store.approve(rid, "U_A", approvals_required=2, claimed_by="w1")
    assert not again.recorded
    assert again.status is RequestStatus.PENDING

    now = datetime.now(UTC)
    last = await store.approve(rid, "U_B", approvals_required=2, claimed_by="w1", now=now)
    assert last.recorded
    assert last.approvals == 2
    assert last.claimed is not None
    assert last.claimed.status is RequestStatus.EXECUTING
    assert last.claimed.claimed_by == "w1"
    assert last.claimed.heartbeat_at == now
    assert await store.get_request(rid) == last.claimed
    assert [(d.user_id, d.decision.value) for d in await store.decisions(rid)] == [
        ("U_A", "approve"),
        ("U_B", "approve"),
    ]
    assert [(e.actor, e.event) for e in await store.audit(rid)] == [
        ("U_A", "approved"),
        ("U_B", "approved"),
        ("bot", "fully_approved"),
        ("bot", "executing"),
    ]
    late = await store.approve(rid, "U_C", approvals_required=2, claimed_by="w2")
    assert not late.recorded
    assert late.status is RequestStatus.EXECUTING
    assert len(await store.decisions(rid)) == 2

    with pytest.raises(UnknownRequest):
        await store.approve(424242, "U_A", approvals_required=1, claimed_by="w1")


async def test_concurrent_last_approvals_claim_exactly_once(
    open_store: Callable[..., Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    replicas = [await open_store() for _ in range(3)]
    rid = await _pending(replicas[0], make_request, [], approvals_required=1)
    outcomes = await asyncio.gather(
        *(
            store.approve(rid, f"U_{i}", approvals_required=1, claimed_by=f"w{i}")
            for i, store in enumerate(replicas * 2)
        )
    )
    claims = [o for o in outcomes if o.claimed is not None]
    assert len(claims) == 1
    assert len([o for o in outcomes if o.recorded]) == 1  # the others found it executing
    assert len(await replicas[0].decisions(rid)) == 1
    events = [e.event for e in await replicas[0].audit(rid)]
    assert events.count("executing") == 1
    assert events.count("approved") == 1


async def test_start_execution_checks_the_claim_before_sealing(
    store: Store, make_request: Callable[..., NewRequest], make_servers: Callable[[int], list[NewServer]]
) -> None:
    servers = make_servers(2)
    rid = await _pending(store, make_request, servers, approvals_required=1)
    assert (await store.approve(rid, "U_A", approvals_required=1, claimed_by="w1")).claimed is not None

    skip = [ServerUpdate(servers[1].server_id, phase=ServerPhase.SKIPPED)]
    assert not await store.start_execution(rid, "w2", "U_REQ", "secret-x", skip)
    assert await store.unseal_secret(rid) is None  # nothing written by the worker without the claim
    assert {s.phase for s in await store.servers(rid)} == {ServerPhase.WAITING}

    before = (await store.get_request(rid)).heartbeat_at  # type: ignore[union-attr]
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await store.start_execution(rid, "w1", "U_REQ", "secret-y", skip, now=later)
    assert await store.unseal_secret(rid) == "secret-y"
    phases = {s.server_id: s.phase for s in await store.servers(rid)}
    assert phases == {servers[0].server_id: ServerPhase.WAITING, servers[1].server_id: ServerPhase.SKIPPED}
    after = (await store.get_request(rid)).heartbeat_at  # type: ignore[union-attr]
    assert before is not None
    assert after == later


async def test_finish_execution_arms_or_erases_in_one_move(
    store: Store, make_request: Callable[..., NewRequest]
) -> None:
    delivered, failed = [await _pending(store, make_request, [], approvals_required=1) for _ in range(2)]
    for rid in (delivered, failed):
        await store.approve(rid, "U_A", approvals_required=1, claimed_by="w1")
        assert await store.start_execution(rid, "w1", "U_REQ", f"secret-{rid}")

    until = datetime.now(UTC) + timedelta(minutes=15)
    done = await store.finish_execution(
        delivered, RequestStatus.SUCCEEDED, "1 of 1", audit=("bot", "finished", {"ok": 1}), reveal_until=until
    )
    assert done is not None
    assert done.reveal_token is not None
    assert done.request.status is RequestStatus.SUCCEEDED
    assert done.request.outcome_message == "1 of 1"
    assert (await store.audit(delivered))[-1].event == "finished"
    now = datetime.now(UTC)
    taken = await store.lease_reveal(done.reveal_token, "U_REQ", now, now + timedelta(seconds=30))
    assert taken.secret == f"secret-{delivered}"

    gone = await store.finish_execution(
        failed, RequestStatus.FAILED, "0 of 1", audit=("bot", "finished", None), reveal_until=None
    )
    assert gone is not None
    assert gone.reveal_token is None
    assert await store.unseal_secret(failed) is None

    again = await store.finish_execution(
        failed, RequestStatus.SUCCEEDED, "x", audit=("bot", "finished-again", None), reveal_until=until
    )
    assert again is None
    assert [e.event for e in await store.audit(failed)].count("finished-again") == 0
    assert (await store.get_request(failed)).status is RequestStatus.FAILED  # type: ignore[union-attr]


async def test_concurrent_approvals_reaching_the_count_claim_exactly_once(
    open_store: Callable[..., Awaitable[Store]], make_request: Callable[..., NewRequest]
) -> None:
    """Each approval counts the others under the row lock: two of two required, at once, claim once."""
    for _ in range(5):
        replicas = [await open_store() for _ in range(2)]
        rid = await _pending(replicas[0], make_request, [], approvals_required=2)
        outcomes = await asyncio.gather(
            *(
                store.approve(rid, f"U_{i}", approvals_required=2, claimed_by=f"w{i}")
                for i, store in enumerate(replicas)
            )
        )
        assert all(o.recorded for o in outcomes)
        assert sorted(o.approvals for o in outcomes) == [1, 2]
        assert len([o for o in outcomes if o.claimed is not None]) == 1
        assert (await replicas[0].get_request(rid)).status is RequestStatus.EXECUTING  # type: ignore[union-attr]
