"""Break-glass in the workflow: who may, the cooldown (two at once included), the run without approval,
the review (acknowledge, flag -> disputed) and the reminders on a fake clock, over the real store and
the real cloud client against the simulator."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.config import ConfigError
from bot.domain import RequestStatus, Review, ReviewState
from bot.metrics import REGISTRY
from bot.workflow import BreakGlassRefused, Field, Submission

from .conftest import APPROVERS, LEADS, REQUESTER, TARGET_NAME, DictDirectory, Env, EnvFactory

IC = "UINCIDENT1"
REASON = "INC-77 database down, no approver reachable"
BREAK_GLASS = {"allowed": [IC, "@leads"], "cooldown": "24h", "review_within": "24h"}


def counted(event: str) -> float:
    labels = {"target": TARGET_NAME, "event": event}
    return REGISTRY.get_sample_value("ecs_reset_break_glass_total", labels) or 0.0


def emergency(names: list[str], user: str = IC, key: str | None = None, **kwargs: Any) -> Submission:
    return Submission(
        target=TARGET_NAME,
        requester_id=user,
        server_refs=names,
        reason=REASON,
        break_glass=True,
        submission_key=key,
        **kwargs,
    )


async def broken(env: Env, names: list[str], user: str = IC, **kwargs: Any) -> int:
    """A break-glass submitted and run to its end; returns the request number."""
    result = await env.workflow.submit(emergency(names, user, **kwargs))
    assert result.request is not None, result.errors
    await env.settle()
    return result.request.id


@pytest.fixture
async def env(make_env: EnvFactory) -> Env:
    return await make_env(break_glass=BREAK_GLASS)


async def test_runs_at_once_without_approval_and_everyone_is_told(env: Env) -> None:
    runs = counted("run")
    request_id = await broken(env, ["web-01", "web-02"])

    request = await env.store.get_request(request_id)
    assert request is not None
    assert request.status == RequestStatus.SUCCEEDED, request.outcome_message
    assert request.break_glass is not None
    assert request.break_glass.state == ReviewState.AWAITING
    assert sorted(env.reset_server_ids()) == sorted([env.sid("web-01"), env.sid("web-02")])
    assert await env.store.decisions(request_id) == [], "nobody approved it"
    started = env.notifier.of(request_id, "break_glass_started")
    assert len(started) == 1
    assert started[0].told == APPROVERS, "every approver of the target is told"
    assert env.notifier.kinds(request_id).index("break_glass_started") < env.notifier.kinds(request_id).index(
        "deliver_secret"
    )
    trail = {a.event: a for a in await env.store.audit(request_id)}
    assert trail["break_glass"].detail["reason"] == REASON
    assert trail["break_glass"].actor == IC
    assert "break_glass_executing" in trail
    assert "finished" in trail
    assert counted("run") == runs + 1


async def test_only_allowed_people_and_only_where_it_is_on(make_env: EnvFactory) -> None:
    directory = DictDirectory({"leads": LEADS})
    env = await make_env(break_glass=BREAK_GLASS, directory=directory)
    lead = sorted(LEADS)[0]
    assert await env.workflow.break_glass_targets(IC, [TARGET_NAME]) == [TARGET_NAME]
    assert await env.workflow.break_glass_targets(lead, [TARGET_NAME]) == [TARGET_NAME]
    assert await env.workflow.break_glass_targets(REQUESTER, [TARGET_NAME]) == []

    refused = await env.workflow.submit(emergency(["web-01"], REQUESTER))
    assert refused.request is None
    assert "not allowed to break glass" in refused.errors[Field.TARGET]
    assert await env.store.list_requests() == [], "nothing created"

    # Membership is read fresh at decision time: a lead removed from the group is refused at once.
    directory.groups["leads"] = frozenset(LEADS - {lead})
    gone = await env.workflow.submit(emergency(["web-01"], lead))
    assert gone.request is None
    assert Field.TARGET in gone.errors

    off = await make_env()  # no break_glass on the target
    assert await off.workflow.break_glass_targets(IC, [TARGET_NAME]) == []
    result = await off.workflow.submit(emergency(["web-01"]))
    assert result.request is None
    assert "not enabled" in result.errors[Field.TARGET]


async def test_reason_pattern_still_applies(make_env: EnvFactory) -> None:
    env = await make_env(break_glass=BREAK_GLASS, reason_pattern="^[A-Z]+-[0-9]+")
    result = await env.workflow.submit(
        Submission(TARGET_NAME, IC, ["web-01"], "database down", break_glass=True)
    )
    assert result.request is None
    assert Field.REASON in result.errors


async def test_cooldown_refuses_with_when_and_the_normal_path(env: Env) -> None:
    refusals = counted("refused")
    await broken(env, ["web-01"])
    again = await env.workflow.submit(emergency(["web-02"]))
    assert again.request is None
    message = again.errors[Field.TARGET]
    assert "again from" in message
    assert "approvers decide as usual" in message
    assert counted("refused") == refusals + 1
    normal = await env.workflow.submit(Submission(TARGET_NAME, IC, ["web-02"], REASON))
    assert normal.request is not None, "the approval path stays open inside the cooldown"

    env.clock.advance(timedelta(hours=24))
    assert (await env.workflow.submit(emergency(["web-03"]))).request is not None


@pytest.mark.both_databases
async def test_two_at_once_let_exactly_one_through(make_env: EnvFactory) -> None:
    env = await make_env(break_glass=BREAK_GLASS)
    second = await env.replica("worker-second")
    checked = []
    for key, names in (("form-a", ["web-01"]), ("form-b", ["web-02"])):
        found, errors = await env.workflow.check(emergency(names, key=key))
        assert found is not None, errors
        checked.append(found)

    results = await asyncio.gather(
        env.workflow.record(checked[0]), second.workflow.record(checked[1]), return_exceptions=True
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1, results
    assert len(refused) == 1, results
    assert isinstance(refused[0], BreakGlassRefused)
    assert "again from" in str(refused[0])
    await env.settle()
    assert len(await env.store.list_requests(requester_id=IC)) == 1, "the loser created nothing"


async def test_a_replay_of_the_confirmation_makes_nothing_new(env: Env) -> None:
    first = await env.workflow.submit(emergency(["web-01"], key="confirm-1"))
    replay = await env.workflow.submit(emergency(["web-01"], key="confirm-1"))
    assert first.request is not None
    assert replay.request is not None
    assert replay.request.id == first.request.id
    await env.settle()
    assert len(env.resets()) == 1


async def test_a_run_that_reset_nothing_frees_the_cooldown(env: Env) -> None:
    failed = await broken(env, ["noplug-01"])
    assert await env.status(failed) == RequestStatus.FAILED
    assert env.resets() == []
    assert env.notifier.of(failed, "break_glass_started") == [], "nothing ran: nobody is told it ran"
    assert "break_glass_released" in [a.event for a in await env.store.audit(failed)]
    assert (await env.workflow.submit(emergency(["web-01"]))).request is not None


async def test_a_run_whose_every_reset_was_refused_frees_the_cooldown(env: Env) -> None:
    """Pre-flight passed (a dry run on the batch call), then the cloud refused every reset before it
    reached a server: nothing changed, so, as after a failed pre-flight, the next attempt may go."""
    env.sim.add_fault("app_auth", r"/os-reset-passwords$", method="PUT", times=None, after=1)
    failed = await broken(env, ["web-01", "web-02"])
    assert await env.status(failed) == RequestStatus.FAILED
    assert env.notifier.of(failed, "break_glass_started"), "it ran: everyone was told"
    released = [a for a in await env.store.audit(failed) if a.event == "break_glass_released"]
    assert [a.detail for a in released] == [{"why": "nothing reset"}]
    env.sim.clear_faults()
    assert (await env.workflow.submit(emergency(["web-01"]))).request is not None


async def test_a_run_that_reset_a_server_keeps_the_cooldown(env: Env) -> None:
    await broken(env, ["web-01"])
    again = await env.workflow.submit(emergency(["web-02"]))
    assert again.request is None
    assert "again from" in str(again.errors), again.errors


async def test_acknowledge_and_flag(make_env: EnvFactory) -> None:
    # The incident commander is also an approver: they still cannot review their own run.
    env = await make_env(break_glass={**BREAK_GLASS, "allowed": [APPROVERS[0]]})
    acks, flags = counted("acknowledged"), counted("flagged")
    request_id = await broken(env, ["web-01"], APPROVERS[0])

    own = await env.workflow.review(request_id, APPROVERS[0], Review.ACKNOWLEDGE)
    assert not own.ok
    assert "your own" in own.message
    outsider = await env.workflow.review(request_id, REQUESTER, Review.ACKNOWLEDGE)
    assert not outsider.ok
    assert "Only approvers" in outsider.message

    ok = await env.workflow.review(request_id, APPROVERS[1], Review.ACKNOWLEDGE)
    assert ok.ok, ok.message
    twice = await env.workflow.review(request_id, APPROVERS[2], Review.ACKNOWLEDGE)
    assert not twice.ok
    assert "already acknowledged" in twice.message

    no_reason = await env.workflow.review(request_id, APPROVERS[2], Review.FLAG, "  ")
    assert not no_reason.ok
    assert "Say why" in no_reason.message
    flagged = await env.workflow.review(request_id, APPROVERS[2], Review.FLAG, "no incident was open")
    assert flagged.ok, flagged.message
    await env.settle()

    request = await env.store.get_request(request_id)
    assert request is not None
    assert request.break_glass is not None
    assert request.break_glass.state == ReviewState.DISPUTED
    assert request.break_glass.reviewed_by == APPROVERS[2]
    assert request.break_glass.reason == "no incident was open"
    assert env.notifier.events(request_id)[-2:] == ["acknowledged", "flagged"]
    assert env.notifier.of(request_id, "request_updated")[-1].event.note == "no incident was open"  # type: ignore[union-attr]
    trail = [(a.event, a.actor, a.detail) for a in await env.store.audit(request_id)]
    assert ("break_glass_acknowledged", APPROVERS[1], {}) in trail
    assert ("break_glass_disputed", APPROVERS[2], {"reason": "no incident was open"}) in trail
    assert counted("acknowledged") == acks + 1
    assert counted("flagged") == flags + 1

    late = await env.workflow.review(request_id, APPROVERS[1], Review.FLAG, "me too")
    assert not late.ok
    assert "disputed" in late.message


async def test_a_normal_request_has_nothing_to_review(env: Env) -> None:
    request = await env.run_to_end(["web-01"])
    result = await env.workflow.review(request.id, APPROVERS[1], Review.ACKNOWLEDGE)
    assert not result.ok
    assert "no break-glass to review" in result.message


async def test_reminders_after_review_within_on_a_fake_clock(make_env: EnvFactory) -> None:
    env = await make_env(break_glass={**BREAK_GLASS, "review_within": "2h"})
    second = await env.replica("worker-second")
    request_id = await broken(env, ["web-01"])

    async def sweep_both() -> list[Any]:
        await asyncio.gather(env.sweeper.sweep(env.clock.now()), second.sweeper.sweep(env.clock.now()))
        await env.settle()
        return env.notifier.of(request_id, "remind_review")

    assert await sweep_both() == [], "not due yet"
    env.clock.advance(timedelta(hours=2))
    reminders = await sweep_both()
    assert len(reminders) == 1, "one reminder, whatever the replicas"
    assert reminders[0].told == APPROVERS
    assert await sweep_both() == reminders, "not repeated at once"
    env.clock.advance(timedelta(minutes=59))
    assert len(await sweep_both()) == 1, "not within the interval"
    env.clock.advance(timedelta(hours=1, minutes=1))
    assert len(await sweep_both()) == 2, "repeated every review_within (2 h here)"
    assert [a.event for a in await env.store.audit(request_id)].count("break_glass_reminded") == 2

    assert (await env.workflow.review(request_id, APPROVERS[0], Review.ACKNOWLEDGE)).ok
    env.clock.advance(timedelta(hours=5))
    assert len(await sweep_both()) == 2, "an acknowledged run is not reminded of"


async def test_no_password_in_notices_or_the_trail(env: Env) -> None:
    request_id = await broken(env, ["web-01"])
    secret = env.notifier.delivered(request_id).secrets[0].password
    assert (await env.workflow.review(request_id, APPROVERS[0], Review.FLAG, "check this")).ok
    await env.settle()
    trail = json.dumps([a.detail for a in await env.store.audit(request_id)])
    assert secret not in trail
    for notice in env.notifier.of(request_id):
        if notice.kind != "deliver_secret":
            assert secret not in repr(notice.view) + repr(notice.event)


async def test_an_unknown_group_among_the_allowed_stops_the_start(make_env: EnvFactory) -> None:
    with pytest.raises(ConfigError) as info:
        await make_env(break_glass={"allowed": ["@nosuch"]})
    assert "break_glass.allowed: there is no user group @nosuch" in str(info.value)
