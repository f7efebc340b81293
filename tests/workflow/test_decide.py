"""Approve, deny, cancel: every click is authorised on the server and refused once the request is settled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event

from bot.domain import Decision, RequestStatus
from bot.workflow import Submission

from .conftest import APPROVERS, REQUESTER, Env, EnvFactory


async def test_non_approver_and_requester_are_refused(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    result = await env.workflow.decide(request.id, "USTRANGER", Decision.APPROVE)
    assert not result.ok
    assert "not an approver" in result.message
    result = await env.workflow.decide(request.id, REQUESTER, Decision.APPROVE)
    assert not result.ok
    assert result.message == f"You cannot approve or deny your own request #{request.id}."
    await env.settle()
    assert await env.status(request.id) == RequestStatus.PENDING
    assert await env.store.decisions(request.id) == []
    refused = [a for a in await env.store.audit(request.id) if a.event == "decision_refused"]
    assert [a.actor for a in refused] == ["USTRANGER", REQUESTER]


async def test_requester_in_the_approver_group_still_cannot_approve(make_env: EnvFactory) -> None:
    env = await make_env(approvers=["@leads"])
    env.directory.groups["leads"] = frozenset({REQUESTER, "ULEAD01"})
    request = await env.submit_ready(["web-01"])
    assert not (await env.workflow.decide(request.id, REQUESTER, Decision.APPROVE)).ok
    assert (await env.workflow.decide(request.id, "ULEAD01", Decision.APPROVE)).ok
    await env.settle()
    assert await env.status(request.id) == RequestStatus.SUCCEEDED


async def test_two_approvals_need_two_distinct_approvers(make_env: EnvFactory) -> None:
    env = await make_env(approvals_required=2)
    request = await env.submit_ready(["web-01"])
    first = await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)
    assert first.ok
    assert "needs 1 more approval" in first.message
    again = await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)
    assert not again.ok
    assert again.message == f"You have already decided on request #{request.id}."
    await env.settle()
    assert await env.status(request.id) == RequestStatus.PENDING
    assert env.resets() == []
    assert env.notifier.events(request.id) == ["approved_by"]
    second = await env.workflow.decide(request.id, "UAPP2", Decision.APPROVE)
    assert second.ok
    assert "running now" in second.message
    await env.settle()
    assert await env.status(request.id) == RequestStatus.SUCCEEDED
    assert len(env.resets()) == 1
    assert [d.user_id for d in await env.store.decisions(request.id)] == ["UAPP1", "UAPP2"]


async def test_approving_while_preflight_runs_is_refused(env: Env) -> None:
    env.sim.latency_s = 0.3
    result = await env.workflow.submit(
        Submission(env.target.name, REQUESTER, ["web-01"], "INC-1 pre-flight still running")
    )
    assert result.request is not None
    early = await env.workflow.decide(result.request.id, "UAPP1", Decision.APPROVE)
    assert not early.ok
    assert "still being checked" in early.message
    await env.settle()
    assert await env.store.decisions(result.request.id) == []
    assert await env.status(result.request.id) == RequestStatus.PENDING


async def test_deny_needs_a_reason_and_ends_the_request(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    blank = await env.workflow.decide(request.id, "UAPP1", Decision.DENY, "  ")
    assert not blank.ok
    assert blank.message == "Give a reason for the denial."
    assert await env.status(request.id) == RequestStatus.PENDING
    denied = await env.workflow.decide(request.id, "UAPP1", Decision.DENY, " not during the freeze ")
    assert denied.ok
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.DENIED
    assert final.outcome_message == "Denied: not during the freeze"
    assert env.notifier.events(request.id) == ["denied"]
    late = await env.workflow.decide(request.id, "UAPP2", Decision.APPROVE)
    assert not late.ok
    assert late.message == f"Request #{request.id} is already denied."
    await env.settle()
    assert env.resets() == []


async def test_decisions_on_a_final_request_are_refused_with_a_sentence(env: Env) -> None:
    request = await env.run_to_end(["web-01"])
    assert request.status == RequestStatus.SUCCEEDED
    for decision, reason in ((Decision.APPROVE, None), (Decision.DENY, "too late")):
        result = await env.workflow.decide(request.id, "UAPP2", decision, reason)
        assert not result.ok
        assert result.message == f"Request #{request.id} is already done."
    cancel = await env.workflow.cancel(request.id, REQUESTER)
    assert not cancel.ok
    assert "can no longer be cancelled" in cancel.message
    await env.settle()
    assert len(env.resets()) == 1


async def test_unknown_request(env: Env) -> None:
    result = await env.workflow.decide(999, "UAPP1", Decision.APPROVE)
    assert not result.ok
    assert result.message == "There is no request #999."


async def test_click_on_an_expired_request_expires_it(env: Env) -> None:
    request = await env.insert_request(["web-01"], expires_in=-timedelta(seconds=1))
    result = await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)
    assert not result.ok
    assert result.message == f"Request #{request.id} has expired."
    await env.settle()
    assert await env.status(request.id) == RequestStatus.EXPIRED
    assert await env.store.decisions(request.id) == []
    assert env.notifier.events(request.id) == ["expired"]
    assert env.resets() == []


async def test_cancel_by_requester_and_refused_for_strangers(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    stranger = await env.workflow.cancel(request.id, "USTRANGER")
    assert not stranger.ok
    assert await env.status(request.id) == RequestStatus.PENDING
    cancelled = await env.workflow.cancel(request.id, REQUESTER)
    assert cancelled.ok
    await env.settle()
    assert await env.status(request.id) == RequestStatus.CANCELLED
    assert env.notifier.events(request.id) == ["cancelled"]
    assert not (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok


async def test_a_chat_outage_does_not_undo_a_decision(env: Env) -> None:
    from bot.metrics import NOTIFICATION_FAILURES

    failed_before = NOTIFICATION_FAILURES.labels("request_updated")._value.get()
    request = await env.submit_ready(["web-01"])
    env.notifier.fail = True
    result = await env.workflow.decide(request.id, "UAPP1", Decision.DENY, "no")
    assert result.ok
    await env.settle()
    assert await env.status(request.id) == RequestStatus.DENIED
    # The operator sees the outage on /metrics, not only in the log.
    assert NOTIFICATION_FAILURES.labels("request_updated")._value.get() == failed_before + 1


async def test_a_refusal_on_a_known_request_reads_nothing(env: Env) -> None:
    """Requester and target never change: a burst of refused clicks costs one audit row each, no read."""
    request = await env.submit_ready(["web-01"])
    statements: list[str] = []
    engine = env.store._engine.sync_engine
    listener = lambda *args: statements.append(str(args[2]))  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        results = await asyncio.gather(
            *(env.workflow.decide(request.id, REQUESTER, Decision.APPROVE) for _ in range(20))
        )
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert {r.message for r in results} == {f"You cannot approve or deny your own request #{request.id}."}
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    inserts = [s for s in statements if "INSERT INTO audit_events" in s]
    assert 1 <= len(inserts) < 20  # the rows of a burst share transactions
    refused = [a for a in await env.store.audit(request.id) if a.event == "decision_refused"]
    assert len(refused) == 20


async def test_a_replica_that_never_saw_the_request_reads_it_and_refuses_the_same(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    other = await env.replica("other")
    result = await other.workflow.decide(request.id, REQUESTER, Decision.APPROVE)
    assert not result.ok
    assert result.message == f"You cannot approve or deny your own request #{request.id}."
    # The approver is not refused from what the replica now remembers: the full path runs.
    assert (await other.workflow.decide(request.id, APPROVERS[0], Decision.APPROVE)).ok
    await env.settle()
    assert await env.status(request.id) == RequestStatus.SUCCEEDED


async def test_notices_keep_no_lock_once_sent(make_env: EnvFactory) -> None:
    """The per-request order of notices holds while some are queued; a settled request leaves nothing
    behind (a lock per request ever seen would grow for the life of the process)."""
    env = await make_env(approvals_required=2)
    requests = [await env.submit_ready([f"web-0{n}"]) for n in (1, 2, 3)]
    for request in requests:
        assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    assert [env.notifier.events(r.id) for r in requests] == [["approved_by"]] * 3
    assert len(env.workflow._notify_locks) == 0
