"""Scripted faults, rate-limit tiers and modal answers Slack cannot apply, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from support.clock import ManualClock
from support.fake_slack import REASON_MODAL

from bot.simulator.slack import FakeSlack, SlackUser
from bot.simulator.slack.scopes import manifest_bot_scopes

ANN, BOB = "U0ANN", "U0BOB"
CHANNEL, OTHER = "C0APPROVERS", "C0OTHER"


@pytest.fixture
async def fake(slack_clock: ManualClock) -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users=[SlackUser(ANN, "ann"), SlackUser(BOB, "bob")],
        channels={CHANNEL: "approvers", OTHER: "other"},
        clock=slack_clock,
        scopes=(*manifest_bot_scopes(), "users:read"),  # users.info: tested here, unused by the bot
    )
    async with slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as err:
        await call
    return str(err.value.response["error"])


async def test_fail_the_next_n_times_then_work(fake: FakeSlack, client: AsyncWebClient) -> None:
    card = await client.chat_postMessage(channel=CHANNEL, text="card")
    fake.fail("chat.update", "message_not_found", times=2)
    for _ in range(2):
        assert (
            await error_of(client.chat_update(channel=CHANNEL, ts=card["ts"], text="x"))
            == "message_not_found"
        )
    assert (await client.chat_update(channel=CHANNEL, ts=card["ts"], text="edited"))["ok"]
    assert [c.error for c in fake.calls("chat.update")] == ["message_not_found", "message_not_found", None]


async def test_a_fault_for_one_channel_or_one_user_only(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("chat.postMessage", "not_in_channel", times=None, channel=CHANNEL)
    assert (await client.chat_postMessage(channel=OTHER, text="fine"))["ok"]
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x")) == "not_in_channel"
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x")) == "not_in_channel"
    fake.clear_faults()
    assert (await client.chat_postMessage(channel=CHANNEL, text="fine"))["ok"]
    fake.fail("chat.postEphemeral", "user_not_in_channel", user=BOB)
    assert (await client.chat_postEphemeral(channel=CHANNEL, user=ANN, text="x"))["ok"]
    assert (
        await error_of(client.chat_postEphemeral(channel=CHANNEL, user=BOB, text="x"))
        == "user_not_in_channel"
    )
    # A user's DM is matched when the call names the user id or the D… channel.
    fake.fail("chat.postMessage", "is_archived", channel=fake.dm_channel(ANN))
    assert await error_of(client.chat_postMessage(channel=ANN, text="x")) == "is_archived"


async def test_any_method_fault(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("*", "fatal_error", times=2)
    assert await error_of(client.auth_test()) == "fatal_error"
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x")) == "fatal_error"
    assert (await client.auth_test())["ok"]


async def test_a_scripted_missing_scope_names_the_scope(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("usergroups.list", "missing_scope")
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_list()
    assert err.value.response["needed"] == "usergroups:read"
    assert "usergroups:read" in err.value.response["provided"]


async def test_5xx_and_429_on_demand(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.server_error("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 503
    fake.rate_limit("chat.postMessage", retry_after=9)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert (err.value.response.status_code, err.value.response["error"]) == (429, "ratelimited")
    assert err.value.response.headers["Retry-After"] == "9"
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]


async def test_timeout_holds_the_request_past_the_clients_patience(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, timeout=1)
    fake.timeout("views.open", hold_s=30)
    with pytest.raises(asyncio.TimeoutError):
        await client.views_open(trigger_id=fake.new_trigger_id(ANN), view={"type": "modal"})
    assert fake.last("views.open").error == "request_timeout"


async def test_rate_limit_tiers_per_method_on_the_fakes_clock(
    fake: FakeSlack, slack_clock: ManualClock
) -> None:
    fake.enforce_rate_limits = True
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    for _ in range(20):  # usergroups.list is Tier 2: 20 a minute
        await client.usergroups_list()
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_list()
    assert (err.value.response.status_code, err.value.response["error"]) == (429, "ratelimited")
    assert 1 <= int(err.value.response.headers["Retry-After"]) <= 60
    assert (await client.users_info(user=ANN))["ok"], "limits are per method"
    slack_clock.now += 60
    assert (await client.usergroups_list())["ok"]


async def test_post_message_is_limited_per_channel(fake: FakeSlack, slack_clock: ManualClock) -> None:
    fake.enforce_rate_limits = True
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    for _ in range(5):
        await client.chat_postMessage(channel=CHANNEL, text="x")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 429
    assert (await client.chat_postMessage(channel=OTHER, text="x"))["ok"]
    slack_clock.now += 5
    assert (await client.chat_postMessage(channel=CHANNEL, text="x"))["ok"]


async def test_response_url_faults(fake: FakeSlack) -> None:
    url = fake.new_response_url(CHANNEL, ANN)
    fake.fail("response_url", "expired_url")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "x"}) as response:
            assert response.status == 404
        async with session.post(url, json={"text": "x"}) as response:
            assert response.status == 200
        too_many = {"text": "x", "blocks": [{"type": "divider"}] * 51}
        async with session.post(url, json=too_many) as response:
            assert response.status == 400


# ------------------------------------------------------------------------ answers Slack cannot apply


async def test_errors_naming_a_block_the_view_lacks_show_a_generic_error(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    view = (await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL))["view"]
    fake.apply_view_ack(
        ANN, view["id"], json.dumps({"response_action": "errors", "errors": {"reason": "Say why"}})
    )
    assert fake.shown_errors == []
    assert "errors] reason: Say why" in fake.transcript()
    fake.apply_view_ack(
        ANN, view["id"], json.dumps({"response_action": "errors", "errors": {"nope": "Say why"}})
    )
    assert [(e.user, e.where) for e in fake.shown_errors] == [(ANN, "modal")]
    assert "nope" not in fake.transcript()
    assert fake.open_views(ANN), "the modal stays open"


async def test_an_update_breaking_a_limit_is_not_applied(fake: FakeSlack, client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL))["view"]
    broken = {**REASON_MODAL, "private_metadata": "m" * 3001}
    fake.apply_view_ack(ANN, view["id"], json.dumps({"response_action": "update", "view": broken}))
    assert len(fake.shown_errors) == 1
    assert fake.view(view["id"]).view.get("private_metadata") != broken["private_metadata"]
