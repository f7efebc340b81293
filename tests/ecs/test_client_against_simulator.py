"""Every client call against the team's ECS + IAM simulator (bot.simulator) over real HTTP.

The simulator verifies AK/SK signatures and tokens itself, so these tests also prove that what the client
sends is exactly what it signed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import get_args

import aiohttp
import pytest
from support.fake_cloud import FAST_RETRY

from bot.ecs import (
    AkSkCredentials,
    EcsAuthError,
    EcsClient,
    EcsCredentialsRefused,
    EcsError,
    EcsNotFound,
    EcsProtocolError,
    Endpoints,
    JobStatus,
    PasswordCredentials,
    ResetOutcome,
    ServerResetResult,
)
from bot.simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_USER, FaultKind, Fleet, Simulator
from bot.simulator.faults import BEHAVIOURS

PASSWORD = "Sim-Canary7!pw"
AKSK = AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)
TOKEN = PasswordCredentials(user=DEMO_USER.name, password=DEMO_USER.password, domain=DEMO_USER.domain)


def small_fleet() -> Fleet:
    fleet = Fleet()
    fleet.add("web-1", id="s1", tags=["env=prod"], addresses=["10.1.0.1"])
    fleet.add("web-2", id="s2", os_type="Windows")
    fleet.add("db-1", id="s3", locked=True)
    fleet.add("db-2", id="s4", plugin_installed=False, status="SHUTOFF")
    return fleet


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(small_fleet(), job_polls_to_finish=2)
    await simulator.start()
    yield simulator
    await simulator.stop()


def client_for(
    sim: Simulator,
    session: aiohttp.ClientSession,
    credentials: AkSkCredentials | PasswordCredentials = AKSK,
    **kwargs: object,
) -> EcsClient:
    return EcsClient(
        session,
        Endpoints(ecs=sim.url, iam=sim.url),
        sim.project_id,
        credentials,
        retry=kwargs.pop("retry", FAST_RETRY),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("credentials", [AKSK, TOKEN], ids=["aksk", "token"])
async def test_reads(
    sim: Simulator, session: aiohttp.ClientSession, credentials: AkSkCredentials | PasswordCredentials
) -> None:
    client = client_for(sim, session, credentials)
    await client.check_access()
    servers = {s.id: s for s in (await client.list_servers()).servers}
    assert set(servers) == {"s1", "s2", "s3", "s4"}
    assert servers["s1"].addresses == ["10.1.0.1"]
    assert servers["s1"].tags == ["env=prod"]
    assert servers["s2"].os_type == "Windows"
    assert servers["s3"].locked
    assert {s.id for s in (await client.list_servers(name="db")).servers} == {"s3", "s4"}
    assert (await client.get_server("s4")).status == "SHUTOFF"
    assert await client.reset_plugin_installed("s1") is True
    assert await client.reset_plugin_installed("s4") is False
    with pytest.raises(EcsNotFound):
        await client.get_server("nope")
    if credentials is TOKEN:
        assert sim.tokens_issued == 1


async def test_pagination_over_a_large_fleet(session: aiohttp.ClientSession) -> None:
    async with Simulator(Fleet.generate(2345)) as sim:
        listing = await client_for(sim, session).list_servers()
        servers = listing.servers
        assert listing.complete
        assert len(servers) == 2345
        assert len({s.id for s in servers}) == 2345
        assert len(sim.calls_to("/cloudservers/detail")) == 3


@pytest.mark.parametrize("credentials", [AKSK, TOKEN], ids=["aksk", "token"])
async def test_batch_reset(
    sim: Simulator, session: aiohttp.ClientSession, credentials: AkSkCredentials | PasswordCredentials
) -> None:
    client = client_for(sim, session, credentials)
    dry = {r.server_id: r for r in await client.reset_passwords(["s1", "s2", "s3"], PASSWORD, dry_run=True)}
    assert dry["s1"].outcome is ResetOutcome.SUCCEEDED
    assert not sim.fleet.password_matches("s1", PASSWORD)

    results = {
        r.server_id: r for r in await client.reset_passwords(["s1", "s2", "s3"], PASSWORD, dry_run=False)
    }
    assert results["s1"].outcome is ResetOutcome.SUCCEEDED
    assert results["s2"].outcome is ResetOutcome.SUCCEEDED
    assert results["s3"].outcome is ResetOutcome.FAILED
    assert results["s3"].error_code is not None
    assert sim.fleet.password_matches("s1", PASSWORD)
    assert sim.fleet.password_matches("s2", PASSWORD)
    assert not sim.fleet.password_matches("s3", PASSWORD)
    assert client.batch_reset_supported is True


async def test_chunking_and_bound_on_a_large_fleet(session: aiohttp.ClientSession) -> None:
    fleet = Fleet.generate(2500, stopped_share=0, no_plugin_share=0, locked_share=0)
    async with Simulator(fleet, latency_s=0.02) as sim:
        ids = [s.id for s in fleet]
        results = await client_for(sim, session, max_concurrency=2).reset_passwords(
            ids, PASSWORD, dry_run=True
        )
        assert [r.outcome for r in results] == [ResetOutcome.SUCCEEDED] * 2500
        batches = sim.calls_to("/os-reset-passwords", "PUT")
        assert sorted(len(c.body["servers"]) for c in batches) == [500, 1000, 1000]
        assert sim.max_in_flight <= 2


async def test_per_server_passwords(sim: Simulator, session: aiohttp.ClientSession) -> None:
    passwords = {"s1": PASSWORD + "a", "s2": PASSWORD + "b"}
    results = await client_for(sim, session).reset_passwords_each(passwords, dry_run=False)
    assert [r.outcome for r in results] == [ResetOutcome.SUCCEEDED] * 2
    assert sim.fleet.password_matches("s1", passwords["s1"])
    assert sim.fleet.password_matches("s2", passwords["s2"])


async def test_fallback_when_the_batch_api_is_missing(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.batch_api_available = False
    client = client_for(sim, session)
    dry = await client.reset_passwords(["s1"], PASSWORD, dry_run=True)
    assert [(r.outcome, r.checked) for r in dry] == [(ResetOutcome.SUCCEEDED, False)]
    results = {r.server_id: r for r in await client.reset_passwords(["s1", "s3"], PASSWORD, dry_run=False)}
    assert results["s1"].outcome is ResetOutcome.SUCCEEDED
    assert results["s3"].outcome is ResetOutcome.FAILED
    assert sim.fleet.password_matches("s1", PASSWORD)
    assert client.batch_reset_supported is False


async def test_reboot_and_wait(sim: Simulator, session: aiohttp.ClientSession) -> None:
    client = client_for(sim, session)
    (job_id,) = await client.reboot(["s1", "s2"], hard=False)
    job = await client.wait_job(job_id, timeout_s=10, poll_interval_s=0.001)
    assert job.status is JobStatus.SUCCESS
    assert {s.server_id for s in job.sub_jobs} == {"s1", "s2"}


async def test_revoked_token_reauthenticates(sim: Simulator, session: aiohttp.ClientSession) -> None:
    client = client_for(sim, session, TOKEN)
    await client.get_server("s1")
    sim.revoke_tokens()
    await client.get_server("s1")
    assert sim.tokens_issued == 2


async def test_wrong_secret_key_is_an_auth_error(sim: Simulator, session: aiohttp.ClientSession) -> None:
    wrong = AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key="not-the-key")
    with pytest.raises(EcsAuthError):
        await client_for(sim, session, wrong).get_server("s1")
    assert len(sim.calls_to("/cloudservers/s1")) == 1


# Each kind that answers in place of the handler -> what the client makes of it: None, retried until the
# fault passes; else the error it raises at once, without a second call.
CLIENT_MEETS: dict[FaultKind, type[EcsError] | None] = {
    "throttle": None,
    "flow_control": None,
    "server_error": None,
    "busy": None,
    "flow_limit_202": None,
    "unavailable": None,
    "timeout": None,  # the client's own timeout, then a new attempt
    "reset": None,
    "disconnect": None,
    "app_auth": EcsCredentialsRefused,
    "malformed_json": EcsProtocolError,
}


def test_every_kind_that_answers_is_in_the_table() -> None:
    assert sorted(CLIENT_MEETS) == sorted(set(get_args(FaultKind)) - BEHAVIOURS)


@pytest.mark.parametrize("kind", sorted(k for k, raised in CLIENT_MEETS.items() if raised is None))
async def test_transient_faults_are_retried(
    sim: Simulator, session: aiohttp.ClientSession, kind: FaultKind
) -> None:
    fault = sim.add_fault(kind, r"/cloudservers/s1$", times=2, retry_after=0.001)
    assert (await client_for(sim, session, timeout_s=0.2).get_server("s1")).id == "s1"
    assert fault.hits == 2
    assert len(sim.calls_to("/cloudservers/s1")) >= 1


@pytest.mark.parametrize(
    ("kind", "raised"), [(k, raised) for k, raised in CLIENT_MEETS.items() if raised is not None]
)
async def test_lasting_faults_are_raised_without_a_retry(
    sim: Simulator, session: aiohttp.ClientSession, kind: FaultKind, raised: type[EcsError]
) -> None:
    fault = sim.add_fault(kind, r"/cloudservers/s1$", times=None)
    with pytest.raises(raised):
        await client_for(sim, session).get_server("s1")
    assert fault.hits == 1


async def test_results_are_handed_over_per_call_as_they_arrive(session: aiohttp.ClientSession) -> None:
    """Each chunk's (or server's) results reach the caller when that call ends, not after the last one,
    so a crash mid-batch loses only the calls in flight."""
    fleet = Fleet.generate(2500, stopped_share=0, no_plugin_share=0, locked_share=0)
    async with Simulator(fleet) as sim:
        ids = [s.id for s in fleet]
        reported: list[list[str]] = []
        calls_when_reported: list[int] = []

        async def on_results(results: list[ServerResetResult]) -> None:
            reported.append([r.server_id for r in results])
            calls_when_reported.append(len(sim.calls_to("/os-reset-password")))

        client = client_for(sim, session, max_concurrency=1)
        results = await client.reset_passwords(ids, PASSWORD, dry_run=False, on_results=on_results)
        assert sorted(len(chunk) for chunk in reported) == [500, 1000, 1000]
        assert calls_when_reported == [1, 2, 3], "each chunk is reported before the next call"
        assert sorted(i for chunk in reported for i in chunk) == sorted(r.server_id for r in results)

        reported.clear()
        each = {i: PASSWORD for i in ids[:5]}
        await client.reset_passwords_each(each, dry_run=False, on_results=on_results)
        assert sorted(r[0] for r in reported) == sorted(each)


class MarkLog:
    """A per-server run's `on_before_call` and `on_results`, writing marks that take `write_s`, with one
    server whose mark cannot be written; it notes what was in doubt at each write."""

    def __init__(self, poisoned: str, write_s: float) -> None:
        self.poisoned = poisoned
        self.write_s = write_s
        self.groups: list[list[str]] = []
        self.marked_at: dict[str, float] = {}
        self.answered: set[str] = set()
        self.in_doubt: list[int] = []  # marked and not answered, at each write

    async def mark(self, group: list[str]) -> None:
        self.groups.append(group)
        await asyncio.sleep(self.write_s)  # a store write takes a while
        if self.poisoned in group:
            raise RuntimeError("the store did not answer")
        self.marked_at.update(dict.fromkeys(group, time.time()))
        self.in_doubt.append(len(set(self.marked_at) - self.answered))

    async def record(self, results: list[ServerResetResult]) -> None:
        self.answered.update(r.server_id for r in results)


async def per_server_run(
    servers: int, latency_s: float, write_s: float, bound: int
) -> tuple[MarkLog, EcsClient, int]:
    """Per-server resets at `bound` calls in flight; the marks, the client, and the calls made."""
    fleet = Fleet.generate(servers, stopped_share=0, no_plugin_share=0, locked_share=0)
    async with Simulator(fleet, latency_s=latency_s) as sim, aiohttp.ClientSession() as session:
        ids = [s.id for s in fleet]
        log = MarkLog(ids[servers // 3], write_s)
        client = client_for(sim, session, max_concurrency=bound)
        results = await client.reset_passwords_each(
            dict.fromkeys(ids, PASSWORD), dry_run=False, on_before_call=log.mark, on_results=log.record
        )
        called = {
            c.body["servers"][0]["id"]: c.started_at for c in sim.calls_to("/os-reset-passwords", "PUT")
        }
        assert set(called) == set(log.marked_at), "called exactly the servers whose mark was written"
        assert all(started >= log.marked_at[sid] for sid, started in called.items()), "a call before its mark"
        assert log.poisoned not in called
        outcome = {r.server_id: r for r in results}
        unsent = {sid for group in log.groups if log.poisoned in group for sid in group}
        assert {sid for sid, r in outcome.items() if r.outcome is ResetOutcome.FAILED} == unsent
        assert all((outcome[sid].error_message or "").startswith("not sent") for sid in unsent)
        assert sum(r.outcome is ResetOutcome.SUCCEEDED for r in results) == len(called)
        return log, client, len(called)


async def test_per_server_marks_come_one_by_one_when_calls_are_slow_beside_a_write() -> None:
    """A real cloud answers in hundreds of milliseconds, a store writes in a few: each server is marked
    as its call takes its place, never ahead, so a crash leaves only the calls in flight in doubt."""
    bound = 5
    log, _, _ = await per_server_run(40, latency_s=0.2, write_s=0, bound=bound)
    assert all(len(group) == 1 for group in log.groups), [len(g) for g in log.groups if len(g) > 1]
    assert max(log.in_doubt) <= bound


async def test_per_server_marks_are_written_ahead_in_groups_within_the_bound_when_writes_are_slow() -> None:
    """A write as slow as the calls would stall every call for a write of its own: marks then go in
    groups ahead of the calls, at most `mark_ahead_bound` servers ahead, and never a call before its mark
    (a crash leaves at most the calls in flight plus the bound in doubt)."""
    bound = 8
    log, client, calls = await per_server_run(200, latency_s=0.005, write_s=0.01, bound=bound)
    ahead = client.mark_ahead_bound
    assert ahead == bound // 2
    written = [sid for group in log.groups for sid in group]
    assert len(written) == len(set(written)), "a server announced twice"
    assert len(log.groups) < calls / 2, f"{len(log.groups)} writes for {calls} calls"
    assert max(len(group) for group in log.groups) <= ahead + 1  # a call's own server and the look-ahead
    assert max(log.in_doubt) <= bound + ahead
