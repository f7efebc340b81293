"""A request executes at most once, whatever the number of concurrent clicks and replicas."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import Decision, RequestStatus

from .conftest import LEADS, EnvFactory

pytestmark = pytest.mark.both_databases

SERVERS = ["web-01", "web-02", "web-03"]


async def test_fifty_concurrent_approvals_execute_once(make_env: EnvFactory) -> None:
    env = await make_env(approvers=["@leads"])
    second = await env.replica("worker-second")
    request = await env.submit_ready(SERVERS)
    approvers = sorted(LEADS)[:50]
    workflows = [env.workflow, second.workflow]
    results = await asyncio.gather(
        *(workflows[i % 2].decide(request.id, user, Decision.APPROVE) for i, user in enumerate(approvers))
    )
    # Clicks that arrive once the request has left `pending` are told so and leave no decision behind.
    late = [r for r in results if not r.ok]
    assert all("is already" in r.message for r in late), [r.message for r in late]
    assert sum("running now" in r.message for r in results) == 1
    decisions = await env.store.decisions(request.id)
    assert len(decisions) == len(results) - len(late), "every recorded approval was answered as such"
    await env.settle()

    resets = env.resets()
    assert len(resets) == 1, "exactly one real reset call"
    assert sorted(env.reset_server_ids()) == sorted(env.sid(n) for n in SERVERS)
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.SUCCEEDED
    events = [a.event for a in await env.store.audit(request.id, limit=500)]
    assert events.count("fully_approved") == 1
    assert events.count("executing") == 1
    assert events.count("finished") == 1
    assert events.count("delivered") == 1
    assert env.notifier.events(request.id).count("finished") == 1
    assert len(env.notifier.of(request.id, "deliver_secret")) == 1


async def test_deny_racing_approval_has_one_winner(make_env: EnvFactory) -> None:
    env = await make_env()
    request = await env.submit_ready(SERVERS)
    approve, deny = await asyncio.gather(
        env.workflow.decide(request.id, "UAPP1", Decision.APPROVE),
        env.workflow.decide(request.id, "UAPP2", Decision.DENY, "no"),
    )
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    if final.status == RequestStatus.DENIED:
        assert deny.ok
        assert env.resets() == []
    else:
        assert final.status == RequestStatus.SUCCEEDED
        assert not deny.ok
        assert approve.ok
        assert len(env.resets()) == 1
