"""Recovery: what a crashed process left behind is finished honestly, once, by one replica."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from support.polling import eventually

from bot.domain import RequestRecord, RequestStatus, ServerPhase
from bot.passwords import generate_password
from bot.store import ServerUpdate
from bot.workflow import SealedPasswords
from bot.workflow.sentences import LOST_IN_FLIGHT, NOT_ATTEMPTED

from .conftest import REQUESTER, Env, EnvFactory

SENT = ["web-01", "web-02"]
WAITING = ["web-03", "win-01"]


async def _crashed(env: Env, password: str | None, *, heartbeat_age: timedelta) -> RequestRecord:
    """An execution claimed by worker "dead": SENT servers were in flight, WAITING never sent."""
    request = await env.insert_request(SENT + WAITING, status=RequestStatus.PENDING)
    claimed = await env.store.transition(
        request.id,
        {RequestStatus.PENDING},
        RequestStatus.EXECUTING,
        claimed_by="dead",
        now=env.clock.now() - heartbeat_age,
    )
    assert claimed is not None
    await env.store.update_servers(
        request.id, [ServerUpdate(env.sid(n), phase=ServerPhase.SENT) for n in SENT]
    )
    if password is not None:
        await env.store.seal_secret(request.id, REQUESTER, SealedPasswords(shared=password).dumps())
    return claimed


@pytest.mark.both_databases
async def test_crashed_execution_is_finished_from_the_sealed_password(make_env: EnvFactory) -> None:
    env = await make_env()
    password = generate_password()
    request = await _crashed(env, password, heartbeat_age=timedelta(minutes=5))
    await env.sweeper.recover(env.clock.now())
    await env.settle()

    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    assert final.claimed_by == "worker-main"
    assert final.outcome_message is not None
    assert "2 unknown." in final.outcome_message
    assert "Finished after a restart of the bot." in final.outcome_message
    servers = {s.name: s for s in await env.store.servers(request.id)}
    for name in SENT:
        assert servers[name].phase == ServerPhase.UNKNOWN
        assert servers[name].error_message == LOST_IN_FLIGHT
        assert not env.sim.fleet.password_matches(env.sid(name), password)
    for name in WAITING:
        assert servers[name].phase == ServerPhase.SUCCEEDED
        assert env.sim.fleet.password_matches(env.sid(name), password)
    assert sorted(env.reset_server_ids()) == sorted(env.sid(n) for n in WAITING)

    delivery = env.notifier.delivered(request.id)
    assert {(tuple(sorted(s.servers)), s.applied) for s in delivery.secrets} == {
        (tuple(WAITING), True),
        (tuple(SENT), False),
    }
    assert all(s.password == password for s in delivery.secrets)
    assert env.notifier.events(request.id) == ["recovered", "finished"]
    recovering = [a for a in await env.store.audit(request.id) if a.event == "recovering"]
    assert len(recovering) == 1
    assert recovering[0].detail == {"worker": "worker-main", "previous_worker": "dead"}


@pytest.mark.both_databases
async def test_two_recoverers_at_once_only_one_takes_over(make_env: EnvFactory) -> None:
    env = await make_env()
    second = await env.replica("worker-second")
    password = generate_password()
    request = await _crashed(env, password, heartbeat_age=timedelta(minutes=5))
    await asyncio.gather(
        env.sweeper.recover(env.clock.now()),
        second.sweeper.recover(env.clock.now()),
        env.sweeper.recover(env.clock.now()),
    )
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    events = [a.event for a in await env.store.audit(request.id)]
    assert events.count("recovering") == 1
    assert events.count("finished") == 1
    assert len(env.resets()) == 1
    assert len(env.notifier.of(request.id, "deliver_secret")) == 1


async def test_lost_sealed_password_fails_the_unsent_servers(env: Env) -> None:
    request = await _crashed(env, None, heartbeat_age=timedelta(minutes=5))
    await env.sweeper.recover(env.clock.now())
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    servers = {s.name: s for s in await env.store.servers(request.id)}
    for name in WAITING:
        assert servers[name].phase == ServerPhase.FAILED
        assert servers[name].error_message == NOT_ATTEMPTED
    for name in SENT:
        assert servers[name].phase == ServerPhase.UNKNOWN
    assert env.resets() == []
    assert env.notifier.of(request.id, "deliver_secret") == []
    assert env.notifier.events(request.id) == ["recovered", "finished"]


async def test_live_execution_is_left_alone(env: Env) -> None:
    request = await _crashed(env, generate_password(), heartbeat_age=timedelta(0))
    await env.sweeper.recover(env.clock.now())
    await env.settle()
    current = await env.store.get_request(request.id)
    assert current is not None
    assert current.status == RequestStatus.EXECUTING
    assert current.claimed_by == "dead"
    assert env.resets() == []


@pytest.mark.both_databases
async def test_request_an_older_version_left_approved_is_reported_not_attempted(make_env: EnvFactory) -> None:
    """Migration 0005 makes such a row an execution with no worker and no password: recovery takes it
    over once, resets nothing (no password was ever generated) and reports every server not attempted."""
    env = await make_env()
    second = await env.replica("worker-second")
    request = await env.insert_request(["web-01", "web-02"], status=RequestStatus.EXECUTING)
    later = env.clock.advance(timedelta(minutes=5))
    await asyncio.gather(env.sweeper.recover(later), second.sweeper.recover(later))
    await env.settle()
    assert await env.status(request.id) == RequestStatus.FAILED
    assert env.resets() == []
    assert {s.error_message for s in await env.store.servers(request.id)} == {NOT_ATTEMPTED}
    events = [a.event for a in await env.store.audit(request.id)]
    assert events.count("recovering") == 1
    assert env.notifier.events(request.id).count("finished") == 1


async def test_stuck_preflight_is_checked_again(env: Env) -> None:
    request = await env.insert_request(["web-01", "noplug-01"], status=RequestStatus.PREFLIGHT)
    await env.sweeper.recover(env.clock.now())  # fresh: its own pre-flight may still be running
    await env.settle()
    assert await env.status(request.id) == RequestStatus.PREFLIGHT
    assert env.resets(dry_run=True) == []

    await env.sweeper.recover(env.clock.advance(timedelta(minutes=3)))
    await env.settle()
    assert await env.status(request.id) == RequestStatus.PENDING
    assert len(env.resets(dry_run=True)) == 1
    servers = {s.name: s for s in await env.store.servers(request.id)}
    assert servers["noplug-01"].plugin_installed is False
    assert servers["noplug-01"].preflight_error
    assert env.notifier.kinds(request.id) == ["ensure_shown", "request_ready"]


@pytest.mark.both_databases
async def test_a_request_its_process_never_announced_is_announced_once(make_env: EnvFactory) -> None:
    """The process stopped between recording a request and telling anyone: recovery has the front end
    show the requester what it missed (their DM with the number and Cancel) before the card, from one
    replica only, however many passes and replicas find the request stuck at once."""
    env = await make_env()
    second = await env.replica("worker-second")
    request = await env.insert_request(["web-01"], status=RequestStatus.PREFLIGHT)
    later = env.clock.advance(timedelta(minutes=3))
    await asyncio.gather(
        env.sweeper.recover(later), second.sweeper.recover(later), env.sweeper.recover(later)
    )
    await env.settle()
    assert await env.status(request.id) == RequestStatus.PENDING
    assert env.notifier.kinds(request.id) == ["ensure_shown", "request_ready"]
    shown = env.notifier.of(request.id, "ensure_shown")[0].view
    assert shown.request.status == RequestStatus.PREFLIGHT
    assert shown.request.message_refs == {}, "nothing was shown yet: the front end sends the DM"
    assert len(env.resets(dry_run=True)) == 1

    await asyncio.gather(
        env.sweeper.recover(later + timedelta(minutes=3)), second.sweeper.recover(env.clock.now())
    )
    await env.settle()
    assert env.notifier.kinds(request.id) == ["ensure_shown", "request_ready"], "a later pass: nothing"


async def test_slow_chat_does_not_let_another_replica_take_over(make_env: EnvFactory) -> None:
    # The "executing" notice takes longer than the lease: the claim must stay alive meanwhile,
    # or a second replica resumes the execution and the cloud is called twice.
    env = await make_env(lease=timedelta(milliseconds=300))
    second = await env.replica("worker-second")
    slack_answers = env.notifier.held["executing"] = asyncio.Event()
    request = await env.insert_request(["web-01", "web-02"], status=RequestStatus.PENDING)
    worker = env.main.executor.settings.worker_id
    claimed = await env.store.transition(  # as the last approval claims it (Store.approve)
        request.id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by=worker
    )
    assert claimed is not None
    running = asyncio.create_task(env.main.executor.run_claimed(claimed))

    async def beaten_at(now: datetime) -> bool:
        record = await env.store.get_request(request.id)
        return record is not None and record.heartbeat_at is not None and record.heartbeat_at >= now

    # Four leases pass while the notice hangs: each time the worker beats (at the moved clock's time)
    # and the other replica, looking for stale executions, leaves it alone.
    for _ in range(8):
        now = env.clock.advance(timedelta(milliseconds=150))
        await eventually(lambda: beaten_at(now), 10, "a heartbeat while the notice hangs")
        await second.sweeper.recover(now)
    slack_answers.set()
    await running
    await env.settle()
    assert len(env.resets()) == 1
    events = [a.event for a in await env.store.audit(request.id)]
    assert "recovering" not in events
    assert events.count("finished") == 1
    assert await env.status(request.id) == RequestStatus.SUCCEEDED


@pytest.mark.both_databases
async def test_worker_that_lost_its_claim_resets_nothing(env: Env) -> None:
    """A worker whose beats stopped past the lease finds, before its first reset, that another
    replica took the request over: it stops without a call and without touching the request."""
    request = await env.insert_request(WAITING, status=RequestStatus.PENDING)
    claimed = await env.store.transition(
        request.id, {RequestStatus.PENDING}, RequestStatus.EXECUTING, claimed_by="the-new-owner"
    )
    assert claimed is not None
    await env.workflow.executor._run(claimed, resumed=False)  # as the old owner would carry on
    current = await env.store.get_request(request.id)
    assert current is not None
    assert current.status == RequestStatus.EXECUTING
    assert current.claimed_by == "the-new-owner"
    assert env.resets() == []
    assert {s.phase for s in await env.store.servers(request.id)} == {ServerPhase.WAITING}
