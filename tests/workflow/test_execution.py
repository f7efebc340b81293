"""Execution against the simulator: the delivered password is the one the cloud set; failures are named."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from bot.domain import Decision, PasswordMode, RebootMode, RequestStatus, RevealOutcome, ServerPhase
from bot.workflow import DeliveredSecret

from .conftest import REQUESTER, Env


async def test_shared_password_is_set_on_every_server_and_delivered(env: Env) -> None:
    names = ["web-01", "web-02", "win-01"]
    request = await env.run_to_end(names)
    assert request.status == RequestStatus.SUCCEEDED
    assert request.outcome_message == (
        "3 of 3 server(s) reset. The new password takes effect after the server's next restart."
    )
    delivery = env.notifier.delivered(request.id)
    assert len(delivery.secrets) == 1
    secret = delivery.secrets[0]
    assert sorted(secret.servers) == sorted(names)
    assert secret.applied
    for name in names:
        assert env.sim.fleet.password_matches(env.sid(name), secret.password), name
    assert not env.sim.fleet.password_matches(env.sid("web-03"), secret.password)
    assert secret.password not in repr(secret)
    assert delivery.reveal_token
    assert delivery.reveal_expires_at is not None
    assert delivery.reveal_expires_at > env.clock.now() + timedelta(minutes=14)
    assert len(env.resets()) == 1
    phases = {s.name: s.phase for s in await env.store.servers(request.id)}
    assert phases == dict.fromkeys(names, ServerPhase.SUCCEEDED)
    assert env.notifier.events(request.id) == ["executing", "finished"]


async def test_per_server_passwords_are_distinct_and_each_set(env: Env) -> None:
    names = ["web-01", "web-02", "web-03"]
    request = await env.run_to_end(names, password_mode=PasswordMode.PER_SERVER)
    assert request.status == RequestStatus.SUCCEEDED
    secrets = env.notifier.delivered(request.id).secrets
    assert sorted(s.servers[0] for s in secrets) == sorted(names)
    assert all(len(s.servers) == 1 for s in secrets)
    assert len({s.password for s in secrets}) == 3
    for s in secrets:
        sid = env.sid(s.servers[0])
        assert env.sim.fleet.password_matches(sid, s.password)
        others = [o.password for o in secrets if o is not s]
        assert not any(env.sim.fleet.password_matches(sid, pw) for pw in others)
    assert len(env.resets()) == 3
    assert all(len(c.body["servers"]) == 1 for c in env.resets())


async def test_server_locked_after_preflight_makes_it_partly_failed(env: Env) -> None:
    request = await env.submit_ready(["web-01", "web-02"])
    locked = env.sim.fleet.get(env.sid("web-02"))
    assert locked is not None
    locked.locked = True
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    assert final.outcome_message is not None
    assert final.outcome_message.startswith("1 of 2 server(s) reset. 1 failed.")
    servers = {s.name: s for s in await env.store.servers(request.id)}
    assert servers["web-01"].phase == ServerPhase.SUCCEEDED
    assert servers["web-02"].phase == ServerPhase.FAILED
    assert servers["web-02"].error_code
    assert "lock" in (servers["web-02"].error_message or "").lower()
    secrets = env.notifier.delivered(request.id).secrets
    assert [s.servers for s in secrets] == [("web-01",)]
    assert env.sim.fleet.password_matches(env.sid("web-01"), secrets[0].password)
    assert not env.sim.fleet.password_matches(env.sid("web-02"), secrets[0].password)
    finished = env.notifier.of(request.id, "request_updated")[-1]
    assert finished.view.request.status == RequestStatus.PARTLY_FAILED
    assert [s.name for s in finished.view.servers_in(ServerPhase.FAILED)] == ["web-02"]


async def test_servers_failing_preflight_are_skipped_not_sent(env: Env) -> None:
    request = await env.run_to_end(["web-01", "locked-01", "noplug-01"])
    assert request.status == RequestStatus.SUCCEEDED
    phases = {s.name: s.phase for s in await env.store.servers(request.id)}
    assert phases == {
        "web-01": ServerPhase.SUCCEEDED,
        "locked-01": ServerPhase.SKIPPED,
        "noplug-01": ServerPhase.SKIPPED,
    }
    assert env.reset_server_ids() == [env.sid("web-01")]


async def test_every_server_failing_at_execution_fails_and_erases_the_secret(env: Env) -> None:
    request = await env.submit_ready(["web-01", "web-02"])
    for name in ("web-01", "web-02"):
        server = env.sim.fleet.get(env.sid(name))
        assert server is not None
        server.locked = True
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.FAILED
    assert final.outcome_message == "0 of 2 server(s) reset. 2 failed."
    assert env.notifier.of(request.id, "deliver_secret") == []
    assert await env.store.unseal_secret(request.id) is None


async def test_throttled_reset_is_retried_and_succeeds(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    env.sim.add_fault("throttle", "/os-reset-passwords", method="PUT", times=1)
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    assert await env.status(request.id) == RequestStatus.SUCCEEDED
    secret = env.notifier.delivered(request.id).secrets[0]
    assert env.sim.fleet.password_matches(env.sid("web-01"), secret.password)


async def test_lost_answer_is_unknown_and_the_password_is_still_delivered(env: Env) -> None:
    request = await env.submit_ready(["web-01"])
    env.sim.add_fault("disconnect", "/os-reset-passwords", method="PUT", times=None)
    assert (await env.workflow.decide(request.id, "UAPP1", Decision.APPROVE)).ok
    await env.settle()
    final = await env.store.get_request(request.id)
    assert final is not None
    assert final.status == RequestStatus.PARTLY_FAILED
    assert final.outcome_message is not None
    assert "1 unknown." in final.outcome_message
    [server] = await env.store.servers(request.id)
    assert server.phase == ServerPhase.UNKNOWN
    assert server.error_message
    [secret] = env.notifier.delivered(request.id).secrets
    assert not secret.applied


async def test_soft_reboot_is_followed_to_the_end(env: Env) -> None:
    request = await env.run_to_end(["web-01", "web-02"], reboot=RebootMode.SOFT)
    assert request.status == RequestStatus.SUCCEEDED
    assert request.outcome_message == (
        "2 of 2 server(s) reset. 2 server(s) restarted (soft); the new password is in effect."
    )
    [action] = env.sim.calls_to("/cloudservers/action", "POST")
    assert action.body["reboot"]["type"] == "SOFT"
    assert len(env.sim.calls_to("/jobs/", "GET")) >= 2
    for name in ("web-01", "web-02"):
        server = env.sim.fleet.get(env.sid(name))
        assert server is not None
        assert not server.password_pending_reboot


async def test_failed_reboot_job_is_reported(env: Env) -> None:
    stopped = env.sim.fleet.add("stopped-01", status="SHUTOFF", addresses=["10.0.7.1"])
    request = await env.run_to_end(["web-01", "stopped-01"], reboot=RebootMode.HARD)
    # The reset itself worked on both (a stopped server can be reset); the restart of one failed.
    assert request.status == RequestStatus.SUCCEEDED
    assert request.outcome_message is not None
    assert "The hard restart failed on stopped-01" in request.outcome_message
    assert stopped.id in request.outcome_message  # the simulator's reason names it
    assert "Restarted (hard), the new password in effect: web-01." in request.outcome_message


async def test_reveal_once_to_the_requester_only(env: Env) -> None:
    request = await env.run_to_end(["web-01", "web-02"])
    delivery = env.notifier.delivered(request.id)
    assert delivery.reveal_token is not None
    token = delivery.reveal_token

    wrong, none = await env.reveal(token, "USTRANGER")
    assert wrong.outcome == RevealOutcome.WRONG_USER
    assert none == []

    result, secrets = await env.reveal(token, REQUESTER)
    assert result.outcome == RevealOutcome.REVEALED
    assert result.secret is None, "the workflow hands out DeliveredSecrets, not the raw sealed blob"
    assert [(s.servers, s.password) for s in secrets] == [(s.servers, s.password) for s in delivery.secrets]
    assert await env.store.unseal_secret(request.id) is None, "erased after the reveal"

    again, nothing = await env.reveal(token, REQUESTER)
    assert again.outcome == RevealOutcome.ALREADY_REVEALED
    assert nothing == []
    unknown, _ = await env.reveal("no-such-token", REQUESTER)
    assert unknown.outcome == RevealOutcome.NOT_FOUND
    events = [a.event for a in await env.store.audit(request.id)]
    assert events[-3:] == ["reveal_wrong_user", "reveal_revealed", "reveal_already_revealed"]


async def test_a_reveal_the_front_end_could_not_show_spends_nothing(env: Env) -> None:
    """The chat refused to open the view: the secret stays for the next click, the audit says so."""
    request = await env.run_to_end(["web-01"])
    delivery = env.notifier.delivered(request.id)
    assert delivery.reveal_token is not None
    refused, none = await env.reveal(delivery.reveal_token, REQUESTER, refuse="expired_trigger_id")
    assert refused.outcome == RevealOutcome.NOT_SHOWN
    assert refused.request_id == request.id
    assert refused.expires_at == delivery.reveal_expires_at
    assert none == []
    assert await env.store.unseal_secret(request.id) is not None, "nothing erased"

    result, secrets = await env.reveal(delivery.reveal_token, REQUESTER)
    assert result.outcome == RevealOutcome.REVEALED
    assert [s.password for s in secrets] == [s.password for s in delivery.secrets]
    assert await env.store.unseal_secret(request.id) is None
    trail = [(a.event, a.detail) for a in await env.store.audit(request.id)][-2:]
    assert trail == [("reveal_not_shown", {"error": "expired_trigger_id"}), ("reveal_revealed", {})]


async def test_concurrent_reveal_clicks_show_it_once(env: Env) -> None:
    """Two clicks at once (two replicas): one shows it, the other is told it is being shown."""
    request = await env.run_to_end(["web-01"])
    token = env.notifier.delivered(request.id).reveal_token
    assert token is not None
    other = await env.replica("replica-b")
    showing, release = asyncio.Event(), asyncio.Event()
    shown: list[int] = []

    async def slow_show(request_id: int, secrets: Sequence[DeliveredSecret]) -> None:
        showing.set()
        await release.wait()
        shown.append(request_id)

    async def never_show(request_id: int, secrets: Sequence[DeliveredSecret]) -> None:
        raise AssertionError("a second click was handed the secret")

    first = asyncio.create_task(env.workflow.reveal(token, REQUESTER, slow_show))
    await asyncio.wait_for(showing.wait(), 10)
    second = await other.workflow.reveal(token, REQUESTER, never_show)
    assert second.outcome == RevealOutcome.BEING_SHOWN
    release.set()
    assert (await first).outcome == RevealOutcome.REVEALED
    assert shown == [request.id]
    third, _ = await env.reveal(token, REQUESTER)
    assert third.outcome == RevealOutcome.ALREADY_REVEALED


async def test_unrevealed_password_is_erased_after_its_ttl(env: Env) -> None:
    request = await env.run_to_end(["web-01"])
    token = env.notifier.delivered(request.id).reveal_token
    assert token is not None
    assert await env.store.erase_expired_reveals(env.clock.now()) == 0
    assert await env.store.unseal_secret(request.id) is not None
    assert await env.store.erase_expired_reveals(env.clock.now() + timedelta(minutes=16)) == 1
    assert await env.store.unseal_secret(request.id) is None
    result, secrets = await env.reveal(token, REQUESTER)
    assert result.outcome == RevealOutcome.EXPIRED
    assert secrets == []
