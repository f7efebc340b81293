"""The credential gate against the simulator's gateway (which locks a key after 5 bad signatures in a row),
over real HTTP with more than one call allowed in flight: the doomed calls are counted where they land.

A "doomed" call is one the simulator refused with `401` (APIGW.0301 for a bad signature, APIGW.0303 for
app authentication). The bot's signing clock is made to jump 20 minutes ahead mid-run (what a clock
fixed by hand, or a VM resumed from a snapshot, does): every call signed after the jump is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest
from support.clock import FakeClock
from support.fake_cloud import FAST_RETRY

from bot.clock import SystemClock
from bot.ecs import (
    AkSkCredentials,
    CredentialGate,
    EcsClient,
    EcsCredentialsRefused,
    Endpoints,
    ResetOutcome,
    ServerResetResult,
)
from bot.ecs.error_answers import error_from_response
from bot.ecs.gate import LOCKOUT_S, Pass
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, Fleet, Simulator

PASSWORD = "Gate-Canary7!pw"
AKSK = AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)
BOUND = 4  # below the lockout's 5: a mid-run jump must not lock the key
SERVERS = 40


class JumpingClock(SystemClock):
    """The bot's real clock, whose UTC reading a test can push ahead at any moment."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.ahead

    def jump(self) -> None:
        self.ahead = timedelta(minutes=20)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    fleet = Fleet.generate(SERVERS, stopped_share=0, no_plugin_share=0, locked_share=0)
    async with Simulator(fleet, latency_s=0.03) as simulator:
        yield simulator


def client_for(sim: Simulator, session: aiohttp.ClientSession, **kwargs: object) -> EcsClient:
    credentials = kwargs.pop("credentials", AKSK)
    return EcsClient(
        session,
        Endpoints(ecs=sim.url, iam=sim.url),
        sim.project_id,
        credentials,  # type: ignore[arg-type]
        retry=FAST_RETRY,
        max_concurrency=BOUND,
        **kwargs,  # type: ignore[arg-type]
    )


def doomed(sim: Simulator, path: str) -> list[float]:
    """When each refused call of `path` arrived."""
    return [c.started_at for c in sim.calls if path in c.path and c.status == 401]


async def test_a_clock_jump_mid_run_sends_nothing_after_the_first_refusal(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    clock = JumpingClock()
    client = client_for(sim, session, clock=clock)
    ids = [s.id for s in sim.fleet]
    succeeded = 0

    async def record(results: list[ServerResetResult]) -> None:
        nonlocal succeeded
        succeeded += sum(r.outcome is ResetOutcome.SUCCEEDED for r in results)
        if succeeded == 8:
            clock.jump()

    results = await client.reset_passwords_each(
        dict.fromkeys(ids, PASSWORD), dry_run=False, on_results=record
    )

    refused = doomed(sim, "/os-reset-password")
    assert 1 <= len(refused) <= BOUND, f"{len(refused)} doomed calls with {BOUND} allowed in flight"
    assert not sim.key_guard.locked(DEMO_ACCESS_KEY)
    outcome = [r.outcome for r in results]
    assert outcome.count(ResetOutcome.SUCCEEDED) == len(sim.calls_to("/os-reset-password")) - len(refused)
    unsent = [r for r in results if (r.error_message or "").startswith("not attempted")]
    assert len(unsent) == SERVERS - len(sim.calls_to("/os-reset-password"))
    named = [r for r in results if "the bot's clock is 20 minutes ahead" in (r.error_message or "")]
    assert len(named) == len(results) - outcome.count(ResetOutcome.SUCCEEDED)


async def test_calls_queued_behind_the_bound_are_not_sent_once_a_refusal_arrives(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """The pre-flight asks every server's plug-in flag at once: 40 calls wait for 4 places. The gate is
    asked when a call takes its place, so those still queued when the refusal comes are never sent."""
    clock = JumpingClock()
    client = client_for(sim, session, clock=clock)
    answered = 0

    async def flag(server_id: str) -> bool | BaseException | None:
        nonlocal answered
        try:
            found = await client.reset_plugin_installed(server_id)
        except EcsCredentialsRefused as error:
            return error
        answered += 1
        if answered == 8:
            clock.jump()
        return found

    outcomes = await asyncio.gather(*(flag(s.id) for s in sim.fleet))
    refused = doomed(sim, "/os-resetpwd-flag")
    assert 1 <= len(refused) <= BOUND, f"{len(refused)} doomed calls with {BOUND} allowed in flight"
    assert not sim.key_guard.locked(DEMO_ACCESS_KEY)
    unsent = [o for o in outcomes if isinstance(o, EcsCredentialsRefused) and not o.sent]
    assert len(unsent) == SERVERS - len(sim.calls_to("/os-resetpwd-flag"))
    assert len(unsent) >= SERVERS - 8 - 2 * BOUND


async def test_credentials_refused_from_the_start_cost_one_call_per_probe_and_never_lock_the_key_early(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    gate = CredentialGate(clock=clock)
    wrong = AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key="not-the-secret-key")
    client = client_for(sim, session, credentials=wrong, gate=gate)
    ids = [s.id for s in sim.fleet]

    probes_at: list[float] = []
    for minute in range(13):
        clock.advance(timedelta(seconds=60 if minute else 1))  # one second into each minute
        before = len(doomed(sim, "/os-reset-password"))
        results = await client.reset_passwords_each(dict.fromkeys(ids[:12], PASSWORD), dry_run=False)
        assert all(r.outcome is ResetOutcome.FAILED for r in results)
        sent = len(doomed(sim, "/os-reset-password")) - before
        assert sent <= 1, f"minute {minute}: {sent} calls with unproven credentials"
        if sent:
            probes_at.append(minute)
            if len(probes_at) < 5:
                assert not sim.key_guard.locked(DEMO_ACCESS_KEY)
    # Held 1, 2, 4, then 5 minutes: the 5th refusal in a row (the gateway's lockout) comes at minute 12.
    assert probes_at == [0, 1, 3, 7, 12], probes_at
    assert sim.key_guard.locked(DEMO_ACCESS_KEY)
    clock.advance(timedelta(seconds=LOCKOUT_S - 1))
    with pytest.raises(EcsCredentialsRefused, match="not attempted"):
        await client.get_server(ids[0])  # after the lockout the gate holds at least as long


async def test_an_endpoint_with_app_authentication_stops_the_run_with_a_sentence_about_the_endpoint(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault("app_auth", r"/os-reset-password", times=None)
    client = client_for(sim, session)
    ids = [s.id for s in sim.fleet][:10]
    results = await client.reset_passwords_each(dict.fromkeys(ids, PASSWORD), dry_run=False)
    assert len(sim.calls_to("/os-reset-password")) == 1, "one doomed call"
    assert all(r.outcome is ResetOutcome.FAILED for r in results)
    (sent,) = [r for r in results if not (r.error_message or "").startswith("not attempted")]
    assert sent.error_code == "APIGW.0303"
    assert "check that the target's ECS endpoint is the ECS API" in (sent.error_message or "")


async def test_an_answer_to_a_call_sent_before_the_refused_one_does_not_reopen_the_gate() -> None:
    gate = CredentialGate(clock=FakeClock())
    probe = await gate.enter()
    gate.accepted(probe)
    early, late = await gate.enter(), await gate.enter()
    refusal = error_from_response(401, {}, b'{"error_code": "APIGW.0301", "error_msg": "x"}')
    assert isinstance(refusal, EcsCredentialsRefused)
    gate.refused(late, refusal)
    gate.accepted(early)  # sent before the refused call: says nothing of the credentials now
    with pytest.raises(EcsCredentialsRefused, match="not attempted"):
        await gate.enter()
    assert gate.refused_in_a_row == 1
    gate.accepted(Pass(ticket=late.ticket + 1, probe=False))  # a call sent after it: proof again
    assert (await gate.enter()).probe is False
