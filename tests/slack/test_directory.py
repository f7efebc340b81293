"""SlackDirectory against the fake Slack over HTTP: lists no older than asked, events drop them, one
question per group at a time, errors raised rather than a stale answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from slack_helpers import targets_file
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from support.clock import FakeClock

from bot.config import load_config
from bot.demo import demo_environment
from bot.simulator.slack import FAKE_BOT_TOKEN, FakeSlack, SlackUsergroup
from bot.slack.directory import SlackDirectory, describe_groups

LEADS = "S0LEADS"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(usergroups=[SlackUsergroup(LEADS, "sre-leads", ["UBOB", "UCAROL"])]) as fake:
        yield fake


@pytest.fixture
async def client(slack: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(token=FAKE_BOT_TOKEN, base_url=slack.api_url, session=session)


async def test_members_are_read_again_once_older_than_allowed(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    clock = FakeClock()
    directory = SlackDirectory(client, clock=clock)
    assert await directory.members_of(LEADS, max_age_s=5) == {"UBOB", "UCAROL"}
    slack.usergroups[LEADS].members.remove("UBOB")
    clock.advance(timedelta(seconds=4.9))
    assert "UBOB" in await directory.members_of(LEADS, max_age_s=5)  # within the allowed age
    assert len(slack.calls("usergroups.users.list")) == 1
    clock.advance(timedelta(seconds=0.2))
    assert await directory.members_of(LEADS, max_age_s=5) == {"UCAROL"}
    assert len(slack.calls("usergroups.users.list")) == 2


async def test_forget_drops_the_list_even_one_being_fetched(slack: FakeSlack, client: AsyncWebClient) -> None:
    clock = FakeClock()
    directory = SlackDirectory(client, clock=clock)
    await directory.members_of(LEADS, max_age_s=60)
    directory.forget(LEADS)
    slack.usergroups[LEADS].members.append("UDAVE")
    assert "UDAVE" in await directory.members_of(LEADS, max_age_s=60)
    # An event arriving while a read is in flight: that read's answer is used once but not kept.
    reading = asyncio.create_task(directory.members_of(LEADS, max_age_s=0))
    await asyncio.sleep(0)  # let the read start (ordering, not time: the fake answers over HTTP)
    directory.forget(LEADS)
    await reading
    calls = len(slack.calls("usergroups.users.list"))
    await directory.members_of(LEADS, max_age_s=60)
    assert len(slack.calls("usergroups.users.list")) == calls + 1


async def test_concurrent_readers_share_one_question(slack: FakeSlack, client: AsyncWebClient) -> None:
    directory = SlackDirectory(client)
    answers = await asyncio.gather(*(directory.members_of(LEADS, max_age_s=5) for _ in range(20)))
    assert all(a == {"UBOB", "UCAROL"} for a in answers)
    assert len(slack.calls("usergroups.users.list")) == 1


async def test_a_refusal_is_raised_never_an_old_list(slack: FakeSlack, client: AsyncWebClient) -> None:
    clock = FakeClock()
    directory = SlackDirectory(client, clock=clock)
    await directory.members_of(LEADS, max_age_s=5)
    clock.advance(timedelta(seconds=10))
    slack.fail("usergroups.users.list", "ratelimited", status=429)
    with pytest.raises(SlackApiError):
        await directory.members_of(LEADS, max_age_s=5)
    with pytest.raises(SlackApiError) as caught:
        await directory.members_of("S0NOSUCH", max_age_s=5)
    assert caught.value.response["error"] == "no_such_subteam"


async def test_doctor_prints_the_resolution(client: AsyncWebClient, tmp_path: Path) -> None:
    environ = demo_environment("http://127.0.0.1:9", "http://127.0.0.1:9/api/", tmp_path)
    good = targets_file(tmp_path, {"demo-aksk": {"approvers": '["@sre-leads", UDEMOAPPROVER1]'}})
    lines, ok = await describe_groups(client, load_config(good, environ=environ).targets)
    assert ok
    assert lines == [f"user groups: OK (@sre-leads = {LEADS})"]
    bad = targets_file(tmp_path, {"demo-aksk": {"approvers": '["@ghost-leads", UDEMOAPPROVER1]'}})
    lines, ok = await describe_groups(client, load_config(bad, environ=environ).targets)
    assert not ok
    [line] = lines
    assert line.startswith("user groups: FAILED:")
    assert "@ghost-leads" in line
