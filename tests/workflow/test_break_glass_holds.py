"""The break-glass confirmation in the workflow, over the real store (SQLite and PostgreSQL): the checked
submission held, taken back once by its owner on any replica (two at once: one), checked again and run;
refused when someone else's or expired (a fake clock), and swept."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain import PasswordMode, RebootMode, RequestStatus
from bot.workflow import BREAK_GLASS_HOLD_TTL, Submission

from .conftest import REQUESTER, TARGET_NAME, Env, EnvFactory

IC = "UINCIDENT1"
REASON = "INC-78 every root password rotated after the breach"


@pytest.fixture
async def env(make_env: EnvFactory) -> Env:
    return await make_env(break_glass={"allowed": [IC], "cooldown": "24h", "review_within": "24h"})


async def held(env: Env, names: list[str]) -> str:
    submission = Submission(
        TARGET_NAME,
        IC,
        names,
        f"  {REASON} ",
        password_mode=PasswordMode.PER_SERVER,
        reboot=RebootMode.SOFT,
        break_glass=True,
    )
    checked, errors = await env.workflow.check(submission)
    assert checked is not None, errors
    return await env.workflow.hold_break_glass(checked)


@pytest.mark.both_databases
async def test_held_then_taken_once_by_its_owner_on_another_replica_and_run(env: Env) -> None:
    key = await held(env, ["web-01", "web-02"])
    other = await env.replica("worker-2")

    someone_else = await other.workflow.take_break_glass(key, REQUESTER)
    assert someone_else.submission is None
    assert "belongs to someone else" in str(someone_else.refusal)
    assert [a.event for a in await env.store.audit()][-1] == "break_glass_confirmation_refused"

    both = await asyncio.gather(
        env.workflow.take_break_glass(key, IC, submission_key="view-1"),
        other.workflow.take_break_glass(key, IC, submission_key="view-1"),
    )
    [taken] = [t for t in both if t.submission is not None]
    [lost] = [t for t in both if t.submission is None]
    assert lost.used
    assert "already submitted" in str(lost.refusal)
    sub = taken.submission
    assert sub is not None
    assert list(sub.server_refs) == [env.sid("web-01"), env.sid("web-02")]
    assert (sub.requester_id, sub.target, sub.reason) == (IC, TARGET_NAME, REASON)
    assert (sub.password_mode, sub.reboot, sub.break_glass) == (
        PasswordMode.PER_SERVER,
        RebootMode.SOFT,
        True,
    )
    assert sub.submission_key == "view-1"

    checked, errors = await other.workflow.check(sub)
    assert checked is not None, errors
    request = await other.workflow.record(checked)
    await env.settle()
    assert await env.status(request.id) == RequestStatus.SUCCEEDED
    assert sorted(env.reset_server_ids()) == sorted([env.sid("web-01"), env.sid("web-02")])


async def test_an_expired_hold_is_refused_then_swept(env: Env) -> None:
    key = await held(env, ["web-01"])
    env.clock.advance(BREAK_GLASS_HOLD_TTL)
    expired = await env.workflow.take_break_glass(key, IC)
    assert expired.submission is None
    assert not expired.used
    assert "expired (each is valid for 15 min" in str(expired.refusal)

    await env.sweeper.sweep(env.clock.now())
    gone = await env.workflow.take_break_glass(key, IC)
    assert "not known" in str(gone.refusal)
    assert await env.store.list_requests() == []
