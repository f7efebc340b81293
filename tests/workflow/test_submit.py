"""Submission: every validation error creates nothing; a good one is pre-flighted against the cloud."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.domain import MessageRef, PasswordMode, RequestStatus
from bot.workflow import Field, Submission, SubmitResult

from .conftest import REQUESTER, TARGET_NAME, Env, EnvFactory


def _submission(**overrides: Any) -> Submission:
    values: dict[str, Any] = {
        "target": TARGET_NAME,
        "requester_id": REQUESTER,
        "server_refs": ["web-01"],
        "reason": "INC-7 root password lost",
    }
    values.update(overrides)
    return Submission(**values)


async def _refused(env: Env, sub: Submission) -> SubmitResult:
    result = await env.workflow.submit(sub)
    await env.settle()
    assert result.request is None
    assert result.errors
    assert await env.store.list_requests() == [], "a refused submission must create nothing"
    assert await env.store.audit() == []
    assert env.notifier.notices == []
    assert env.resets(dry_run=True) == []
    assert env.resets() == []
    return result


async def test_target_not_allowed(make_env: EnvFactory) -> None:
    env = await make_env(requesters=["UONCALL1"])
    result = await _refused(env, _submission())
    assert set(result.errors) == {Field.TARGET}
    assert TARGET_NAME in result.errors[Field.TARGET]
    result = await _refused(env, _submission(target="nowhere", requester_id="UONCALL1"))
    assert "'nowhere'" in result.errors[Field.TARGET]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("   ", "Give a reason"),
        ("INC-1 " + "x" * 1000, "under 1000 characters"),
        ("no ticket here", "must match ^[A-Z]+-[0-9]+"),
    ],
)
async def test_reason_problems(make_env: EnvFactory, reason: str, expected: str) -> None:
    env = await make_env(reason_pattern="^[A-Z]+-[0-9]+")
    result = await _refused(env, _submission(reason=reason))
    assert set(result.errors) == {Field.REASON}
    assert expected in result.errors[Field.REASON]


async def test_per_server_passwords_not_allowed(make_env: EnvFactory) -> None:
    env = await make_env(allow_per_server_passwords=False)
    result = await _refused(env, _submission(password_mode=PasswordMode.PER_SERVER))
    assert set(result.errors) == {Field.PASSWORD_MODE}
    assert "one password for the whole batch" in result.errors[Field.PASSWORD_MODE]


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        (["web-01", "nope-1", "nope-2"], "Unknown servers: nope-1, nope-2."),
        (["web-01", "10.0.1.1"], "Listed more than once: 10.0.1.1."),
        (["twin"], "'twin' matches 2 servers; use its ID."),
        ([], "Pick at least one server"),
        (["  ", ""], "Pick at least one server"),
        (["web-01", "web-02", "web-03"], "3 servers is over the limit of 2 for prod-eu-de."),
    ],
)
async def test_server_problems(make_env: EnvFactory, refs: list[str], expected: str) -> None:
    env = await make_env(max_servers=2)
    result = await _refused(env, _submission(server_refs=refs))
    assert set(result.errors) == {Field.SERVERS}
    assert expected in result.errors[Field.SERVERS]


async def test_tag_without_servers(env: Env) -> None:
    result = await _refused(env, _submission(server_refs=[], tag="team=nobody"))
    assert "has the tag 'team=nobody'" in result.errors[Field.SERVERS]


async def test_several_errors_at_once(make_env: EnvFactory) -> None:
    env = await make_env(allow_per_server_passwords=False)
    result = await _refused(
        env, _submission(reason="", server_refs=["nope"], password_mode=PasswordMode.PER_SERVER)
    )
    assert set(result.errors) == {Field.REASON, Field.SERVERS, Field.PASSWORD_MODE}


async def test_good_submission_is_preflighted_then_pending(env: Env) -> None:
    env.sim.fleet.add("broken-01", status="ERROR", addresses=["10.0.9.1"])
    result = await env.workflow.submit(
        _submission(server_refs=["web-01", "win-01", "locked-01", "noplug-01", "broken-01"])
    )
    assert result.errors == {}
    assert result.request is not None
    assert result.request.status == RequestStatus.PREFLIGHT
    await env.settle()
    request = await env.store.get_request(result.request.id)
    assert request is not None
    assert request.status == RequestStatus.PENDING
    assert request.outcome_message == "3 of 5 servers cannot be reset and will be skipped."
    servers = {s.name: s for s in await env.store.servers(request.id)}
    assert servers["web-01"].preflight_error is None
    assert servers["web-01"].plugin_installed is True
    assert servers["win-01"].preflight_error is None
    assert servers["win-01"].os_type == "Windows"
    assert servers["locked-01"].preflight_error == "The server is locked."
    assert servers["locked-01"].locked
    assert servers["noplug-01"].plugin_installed is False
    assert "plug-in is not installed" in (servers["noplug-01"].preflight_error or "")
    assert "ERROR" in (servers["broken-01"].preflight_error or "") or "status" in (
        servers["broken-01"].preflight_error or ""
    )
    # One dry run, only for the servers that passed the local checks; nothing was really reset.
    dry = env.resets(dry_run=True)
    assert len(dry) == 1
    assert sorted(s["id"] for s in dry[0].body["servers"]) == sorted(
        env.sid(n) for n in ("web-01", "win-01", "broken-01")
    )
    assert env.resets() == []
    assert not any(s.password_hash for s in env.sim.fleet)
    assert env.notifier.kinds(request.id) == ["request_submitted", "request_ready"]
    ready = env.notifier.of(request.id, "request_ready")[0].view
    assert ready.request.status == RequestStatus.PENDING
    assert ready.approvers_channel == "CAPPROVERS"
    assert [s.name for s in ready.resettable] == ["web-01", "win-01"]
    events = [a.event for a in await env.store.audit(request.id)]
    assert events == ["submitted", "preflight_passed"]


async def test_submission_by_tag(env: Env) -> None:
    result = await env.workflow.submit(_submission(server_refs=["web-01"], tag="env=dev"))
    assert result.request is not None
    await env.settle()
    names = sorted(s.name for s in await env.store.servers(result.request.id))
    assert names == ["locked-01", "noplug-01", "web-01"]


async def test_all_servers_failing_preflight_fails_the_request(env: Env) -> None:
    result = await env.workflow.submit(_submission(server_refs=["locked-01", "noplug-01"]))
    assert result.request is not None
    await env.settle()
    request = await env.store.get_request(result.request.id)
    assert request is not None
    assert request.status == RequestStatus.FAILED
    assert request.outcome_message == "None of the 2 servers can be reset; see the list."
    assert env.notifier.kinds(request.id) == ["request_submitted", "request_updated"]
    assert env.notifier.events(request.id) == ["preflight_failed"]
    assert env.resets(dry_run=True) == []


async def test_cloud_failure_during_preflight_fails_with_a_sentence(env: Env) -> None:
    await env.workflow.inventory.refresh(TARGET_NAME)  # the list loaded before the cloud broke
    env.sim.add_fault("server_error", r"os-resetpwd-flag|os-reset-passwords", times=None)
    result = await env.workflow.submit(_submission(server_refs=["web-01", "web-02"]))
    assert result.request is not None
    await env.settle()
    request = await env.store.get_request(result.request.id)
    assert request is not None
    assert request.status == RequestStatus.FAILED
    # One sentence for the whole request (the cloud is out, not these servers), with the code a
    # support ticket needs.
    assert request.outcome_message is not None
    assert "could not reach the cloud" in request.outcome_message
    assert "the cloud had an internal error" in request.outcome_message
    assert "Common.0001" in request.outcome_message
    assert env.notifier.events(request.id) == ["preflight_failed"]
    assert env.resets() == []


async def _one_request_announced_once(env: Env, request_id: int) -> None:
    assert [r.id for r in await env.store.list_requests()] == [request_id]
    assert env.notifier.kinds(request_id) == ["request_submitted", "request_ready"]
    assert [a.event for a in await env.store.audit(request_id)] == ["submitted", "preflight_passed"]
    assert len(env.resets(dry_run=True)) == 1


async def test_a_replayed_submission_returns_the_first_request_and_does_nothing(env: Env) -> None:
    sub = _submission(submission_key="slack-view:V0001")
    first = await env.workflow.submit(sub)
    assert first.request is not None
    await env.settle()
    again = await env.workflow.submit(sub)
    assert again.request is not None
    assert again.request.id == first.request.id
    # The path a front end with a deadline takes (check, then record) finds it too.
    checked, errors = await env.workflow.check(sub)
    assert checked is not None, errors
    assert (await env.workflow.record(checked)).id == first.request.id
    await env.settle()
    await _one_request_announced_once(env, first.request.id)


@pytest.mark.both_databases
async def test_the_same_submission_on_two_replicas_at_once_makes_one_request(make_env: EnvFactory) -> None:
    env = await make_env()
    second = await env.replica("worker-second")
    sub = _submission(submission_key="slack-view:V0002")
    checks = [await replica.workflow.check(sub) for replica in (env.main, second)]
    recorded = await asyncio.gather(
        *(
            replica.workflow.record(checked)
            for replica, (checked, _) in zip((env.main, second), checks)
            if checked
        )
    )
    assert len(recorded) == 2
    assert recorded[0].id == recorded[1].id
    await env.settle()
    await _one_request_announced_once(env, recorded[0].id)


async def test_submissions_without_a_key_are_never_taken_for_replays(env: Env) -> None:
    first = await env.workflow.submit(_submission())
    second = await env.workflow.submit(_submission(server_refs=["web-02"]))
    assert first.request is not None
    assert second.request is not None
    assert first.request.id != second.request.id


async def test_where_the_notices_went_is_kept_with_the_request(env: Env) -> None:
    """The front end answers each post with where it went; the workflow stores it for later edits."""
    request = await env.submit_ready(["web-01"])
    assert request.message_refs == {
        "dm": MessageRef("DREQUESTER", f"{request.id}.000100"),
        "card": MessageRef("CAPPROVERS", f"{request.id}.000100"),
    }
    updated = env.notifier.of(request.id, "request_ready")[0].view.request
    assert set(updated.message_refs) == {"dm"}, "the card's notice sees the DM posted before it"
