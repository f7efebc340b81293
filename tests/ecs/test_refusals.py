"""Refused credentials stop the calls: at most one doomed call in flight per credential, the rest not
attempted, and a sentence that names the bot's clock when the gateway's `Date` says it is off.

The fake gateway answers as documented: `401 APIGW.0301 "verify aksk signature fail"`, with a `Date` header
(aiohttp's server sets it from the real clock; the bot's clock is shifted instead).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from support.clock import FakeClock
from support.fake_cloud import FakeCloud, reply

from bot.clock import SystemClock
from bot.ecs import CredentialGate, EcsClient, EcsCredentialsRefused, ResetOutcome

BATCH = "/v1/pid/cloudservers/os-reset-passwords"
FLAG = r"/v1/pid/cloudservers/[^/]+/os-resetpwd-flag"
LIST = "/v1/pid/cloudservers/detail"
PASSWORD = "Refused-Pw-12"
REFUSED = reply(
    401, {"error_code": "APIGW.0301", "error_msg": "verify aksk signature fail", "request_id": "r1"}
)


class ahead(SystemClock):
    """The real clock, its UTC reading `minutes` ahead: what a server whose clock drifted signs with."""

    def __init__(self, minutes: float) -> None:
        self.by = timedelta(minutes=minutes)

    def now(self) -> datetime:
        return super().now() + self.by


async def test_per_server_resets_stop_after_one_refused_signature_and_name_the_clock(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("PUT", BATCH, REFUSED)
    client = make_client(clock=ahead(20), max_concurrency=20)
    passwords = {f"s{i}": PASSWORD for i in range(12)}
    results = await client.reset_passwords_each(passwords, dry_run=False)
    assert len(cloud.calls("PUT", BATCH)) == 1, "one doomed call, not one per server"
    by_outcome = [r for r in results if r.outcome is ResetOutcome.FAILED]
    assert len(by_outcome) == 12
    sent = [r for r in results if not (r.error_message or "").startswith("not attempted")]
    assert len(sent) == 1
    assert "the bot's clock is 20 minutes ahead of the cloud's" in (sent[0].error_message or "")
    unsent = [r for r in results if r not in sent]
    assert all(
        (r.error_message or "").startswith("not attempted: the cloud refused the bot's credentials")
        for r in unsent
    )
    assert client.clock_offset_s is not None
    assert 19 * 60 < client.clock_offset_s < 21 * 60


async def test_a_refusal_with_a_good_clock_says_to_check_the_keys(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    cloud.on("PUT", BATCH, REFUSED)
    (result,) = await make_client().reset_passwords(["s1"], PASSWORD, dry_run=False)
    assert result.outcome is ResetOutcome.FAILED
    assert "check the target's access key and secret key" in (result.error_message or "")
    assert "clock is" not in (result.error_message or "")


async def test_concurrent_checks_send_one_call_while_the_credentials_are_unproven(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    # The pre-flight asks for every server's plug-in flag at once: with refused credentials, one call.
    cloud.on("GET", FLAG, REFUSED)
    client = make_client(max_concurrency=20)
    outcomes = await asyncio.gather(
        *(client.reset_plugin_installed(f"s{i}") for i in range(12)), return_exceptions=True
    )
    assert len(cloud.calls("GET", FLAG)) == 1
    assert all(isinstance(o, EcsCredentialsRefused) for o in outcomes)
    assert sum("not attempted" in str(o) for o in outcomes) == 11


async def test_accepted_credentials_let_calls_go_together(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    gate = asyncio.Event()
    arrived = 0

    async def flag(_: object) -> object:
        nonlocal arrived
        arrived += 1
        if arrived >= 5:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)
        return reply(200, {"resetpwd_flag": "True"})

    cloud.on("GET", LIST, reply(200, {"count": 0, "servers": []}))
    cloud.on("GET", FLAG, flag)
    client = make_client(max_concurrency=20)
    await client.check_access()
    assert await asyncio.gather(*(client.reset_plugin_installed(f"s{i}") for i in range(5))) == [True] * 5
    assert cloud.max_in_flight == 5


async def test_the_refusal_holds_for_a_while_then_one_call_tries_again(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    clock = FakeClock()
    cloud.on("GET", LIST, REFUSED)
    client = make_client(gate=CredentialGate(refused_for_s=60, clock=clock))
    with pytest.raises(EcsCredentialsRefused):
        await client.check_access()
    with pytest.raises(EcsCredentialsRefused, match="not attempted"):
        await client.check_access()
    assert len(cloud.calls("GET", LIST)) == 1
    clock.advance(timedelta(seconds=61))  # the operator fixed the clock; the next call is a new probe
    cloud.on("GET", LIST, reply(200, {"count": 0, "servers": []}))
    await client.check_access()
    assert len(cloud.calls("GET", LIST)) == 2


async def test_a_server_error_of_the_probe_is_retried_not_taken_for_a_refusal(
    cloud: FakeCloud, make_client: Callable[..., EcsClient]
) -> None:
    answers = [reply(503, {"error_code": "Common.0001", "error_msg": "x"})]
    cloud.on("GET", LIST, [*answers, reply(200, {"count": 0, "servers": []})])
    await make_client().check_access()  # a 503 then a 200: retried, the gate never stuck
    assert len(cloud.calls("GET", LIST)) == 2


async def test_a_clock_drifting_off_the_gateways_is_warned_about_once_before_it_is_refused(
    cloud: FakeCloud, make_client: Callable[..., EcsClient], caplog: pytest.LogCaptureFixture
) -> None:
    cloud.on("GET", LIST, reply(200, {"count": 0, "servers": []}))
    client = make_client(clock=ahead(6))
    for _ in range(3):
        await client.check_access()
    warnings = [
        r.getMessage() for r in caplog.records if "clock" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert len(warnings) == 1, warnings
    assert "ahead of the cloud's" in warnings[0]
    assert "at 15 minutes the cloud refuses every signed call" in warnings[0]
