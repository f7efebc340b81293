"""The periodic sweep: expiry tells everyone, reminders go out once, reveals past their time are erased."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain import RequestStatus

from .conftest import Env, EnvFactory


async def test_expired_requests_are_expired_and_everyone_told_once(env: Env) -> None:
    pending = await env.insert_request(["web-01"], expires_in=-timedelta(seconds=1))
    preflight = await env.insert_request(
        ["web-02"], status=RequestStatus.PREFLIGHT, expires_in=-timedelta(seconds=1)
    )
    alive = await env.insert_request(["web-03"])
    await env.sweeper.sweep(env.clock.now())
    await env.settle()
    for request in (pending, preflight):
        current = await env.store.get_request(request.id)
        assert current is not None
        assert current.status == RequestStatus.EXPIRED
        assert current.outcome_message == "Expired before it was approved."
        assert env.notifier.events(request.id) == ["expired"]
        notice = env.notifier.of(request.id, "request_updated")[0]
        assert notice.view.request.status == RequestStatus.EXPIRED
        assert notice.view.approvers_channel == "CAPPROVERS"
        assert [a.event for a in await env.store.audit(request.id)] == ["expired"]
    assert await env.status(alive.id) == RequestStatus.PENDING
    assert env.notifier.of(alive.id) == []

    await env.sweeper.sweep(env.clock.now())
    await env.settle()
    assert env.notifier.events(pending.id) == ["expired"], "a second sweep tells nobody again"


async def test_two_replicas_sweeping_expire_once(make_env: EnvFactory) -> None:
    env = await make_env()
    second = await env.replica("worker-second")
    request = await env.insert_request(["web-01"], expires_in=-timedelta(seconds=1))
    await asyncio.gather(env.sweeper.sweep(env.clock.now()), second.sweeper.sweep(env.clock.now()))
    await env.settle()
    assert await env.status(request.id) == RequestStatus.EXPIRED
    assert env.notifier.events(request.id) == ["expired"]


async def test_reminder_is_sent_once(make_env: EnvFactory) -> None:
    env = await make_env(reminder_after=timedelta(minutes=20))
    second = await env.replica("worker-second")
    request = await env.insert_request(["web-01"])
    await env.sweeper.sweep(env.clock.now())
    assert env.notifier.of(request.id, "remind_approvers") == [], "not yet due"
    env.clock.advance(timedelta(minutes=20))
    await asyncio.gather(env.sweeper.sweep(env.clock.now()), second.sweeper.sweep(env.clock.now()))
    await env.sweeper.sweep(env.clock.now())
    await env.settle()
    reminders = env.notifier.of(request.id, "remind_approvers")
    assert len(reminders) == 1
    assert reminders[0].view.request.id == request.id
    current = await env.store.get_request(request.id)
    assert current is not None
    assert current.reminded_at is not None
    assert current.status == RequestStatus.PENDING


async def test_no_reminder_before_it_is_due(make_env: EnvFactory) -> None:
    env = await make_env(reminder_after=timedelta(minutes=20))
    request = await env.insert_request(["web-01"])
    await env.sweeper.sweep(env.clock.now())
    await env.settle()
    assert env.notifier.of(request.id, "remind_approvers") == []
    current = await env.store.get_request(request.id)
    assert current is not None
    assert current.reminded_at is None


async def test_no_reminder_without_reminder_after(env: Env) -> None:
    assert env.target.reminder_after is None
    request = await env.insert_request(["web-01"])
    env.clock.advance(timedelta(days=1))
    await env.sweeper.sweep(env.clock.now())
    await env.settle()
    assert env.notifier.of(request.id, "remind_approvers") == []


async def test_sweep_erases_reveals_past_their_ttl(make_env: EnvFactory) -> None:
    env = await make_env(reveal_ttl=timedelta(minutes=15))
    request = await env.run_to_end(["web-01"])
    assert request.status == RequestStatus.SUCCEEDED
    await env.sweeper.sweep(env.clock.now())
    assert await env.store.unseal_secret(request.id) is not None, "still within its time to live"
    env.clock.advance(timedelta(minutes=15))
    await env.sweeper.sweep(env.clock.now())
    assert await env.store.unseal_secret(request.id) is None


async def test_pending_requests_are_shown_again_only_once_they_have_waited(env: Env) -> None:
    """The sweeper asks the front end to show pending requests it may have missed (chat outage),
    but not one that just became pending: its card may still be on its way."""
    request = await env.submit_ready(["web-01"])
    now = env.clock.now()
    await env.sweeper.show_unseen(pending_since=now - timedelta(minutes=1), now=now)
    assert env.notifier.of(request.id, "ensure_shown") == []
    later = env.clock.advance(timedelta(minutes=1, seconds=1))
    await env.sweeper.show_unseen(pending_since=later - timedelta(minutes=1), now=later)
    assert [n.view.request.id for n in env.notifier.of(request.id, "ensure_shown")] == [request.id]


async def test_two_replicas_sweeping_at_once_show_a_pending_request_once(env: Env) -> None:
    """Only the replica that wins the compare-and-set asks the front end; the other leaves it alone."""
    request = await env.submit_ready(["web-01"])
    other = await env.replica("other")
    later = env.clock.advance(timedelta(minutes=2))
    since = later - timedelta(minutes=1)
    await asyncio.gather(
        env.sweeper.show_unseen(pending_since=since, now=later),
        other.sweeper.show_unseen(pending_since=since, now=later),
    )
    assert len(env.notifier.of(request.id, "ensure_shown")) == 1
    # Shown: the next pass within the minute leaves it alone; one a minute later asks again.
    await env.sweeper.show_unseen(pending_since=later - timedelta(seconds=1), now=later)
    assert len(env.notifier.of(request.id, "ensure_shown")) == 1
    await env.sweeper.show_unseen(pending_since=later, now=later + timedelta(minutes=1))
    assert len(env.notifier.of(request.id, "ensure_shown")) == 2
