"""The fake Slack must behave like Slack for AsyncWebClient, or every other test lies: its Web API over real
HTTP (messages, views, the directory, rate limits, scripted failures) and what it records."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_workspace import ANN, APPROVERS, BOB, CARD, CAROL, example_slack
from support.clock import ManualClock
from support.fake_slack import REASON_MODAL

from bot.simulator.slack import FakeSlack


@pytest.fixture
async def fake(slack_clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with example_slack(slack_clock) as slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def test_start_sets_urls_and_auth_test_answers(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.api_url == fake.url + "/api/"
    response = await client.auth_test()
    assert response["user_id"] == fake.bot_user_id
    assert response["team_id"] == fake.team_id
    assert response["bot_id"] == fake.bot_id


async def test_invalid_and_missing_token_are_refused(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"
    assert not fake.last("auth.test").ok


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.frobnicate", json={"x": 1})
    assert err.value.response["error"] == "unknown_method"


async def test_post_message_ts_unique_increasing_and_threads(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel=APPROVERS, text="card", blocks=CARD)
    second = await client.chat_postMessage(channel=APPROVERS, text="second")
    assert first["channel"] == APPROVERS
    assert float(second["ts"]) > float(first["ts"])
    reply = await client.chat_postMessage(channel=APPROVERS, text="done", thread_ts=first["ts"])
    assert [m.ts for m in fake.messages(APPROVERS)] == [first["ts"], second["ts"]]
    assert [m.text for m in fake.replies(APPROVERS, first["ts"])] == ["done"]
    assert fake.message(APPROVERS, reply["ts"]).thread_ts == first["ts"]
    assert fake.last("chat.postMessage").args["thread_ts"] == first["ts"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=APPROVERS, text="x", thread_ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"


async def test_post_message_form_encoded_and_to_a_user(fake: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.api_call(
        "chat.postMessage", data={"channel": ANN, "text": "hi", "blocks": json.dumps(CARD)}
    )
    assert response["channel"] == fake.dm_channel(ANN)
    stored = fake.messages(fake.dm_channel(ANN))[0]
    assert stored.blocks == CARD
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=APPROVERS, text="x", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.postMessage", json={"channel": APPROVERS})
    assert err.value.response["error"] == "no_text"


async def test_update_and_delete_change_the_stored_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=APPROVERS, text="pending", blocks=CARD)
    updated = await client.chat_update(channel=APPROVERS, ts=posted["ts"], text="approved by bob")
    assert updated["ts"] == posted["ts"]
    message = fake.message(APPROVERS, posted["ts"])
    assert (message.text, message.blocks, message.edited) == ("approved by bob", [], True)
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=APPROVERS, ts="9.000001", text="x")
    assert err.value.response["error"] == "message_not_found"
    await client.chat_delete(channel=APPROVERS, ts=posted["ts"])
    assert fake.messages(APPROVERS) == []


async def test_ephemeral_dm_and_reactions(fake: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users=ANN)
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    assert (await client.conversations_open(users=[ANN]))["channel"]["id"] == dm
    assert (await client.conversations_open(users=BOB))["channel"]["id"] != dm
    response = await client.chat_postEphemeral(channel=dm, user=ANN, text="secret stays here")
    assert response["message_ts"]
    assert [e.text for e in fake.ephemerals(dm, ANN)] == ["secret stays here"]
    assert fake.ephemerals(dm, BOB) == []
    assert fake.messages(dm) == []
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel=dm, user="U0NOBODY", text="x")
    assert err.value.response["error"] == "user_not_found"
    posted = await client.chat_postMessage(channel=dm, text="done")
    await client.reactions_add(channel=dm, timestamp=posted["ts"], name="white_check_mark")
    assert fake.reactions(dm, posted["ts"]) == ["white_check_mark"]


async def test_users_and_usergroups(fake: FakeSlack, client: AsyncWebClient) -> None:
    info = await client.users_info(user=ANN)
    assert info["user"]["name"] == "ann"
    assert info["user"]["real_name"] == "Ann Example"
    assert info["user"]["is_bot"] is False
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
    groups = await client.usergroups_list(include_users=True)
    assert [(g["id"], g["handle"], g["users"]) for g in groups["usergroups"]] == [
        ("S0LEADS", "sre-leads", [BOB, CAROL])
    ]
    members = await client.usergroups_users_list(usergroup="S0LEADS")
    assert members["users"] == [BOB, CAROL]
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_users_list(usergroup="S0NONE")
    assert err.value.response["error"] == "no_such_subteam"
    found = await client.users_lookupByEmail(email="ANN@example.com")
    assert found["user"]["id"] == ANN


async def test_views_open_needs_a_fresh_unused_trigger(
    fake: FakeSlack, client: AsyncWebClient, slack_clock: ManualClock
) -> None:
    trigger = fake.new_trigger_id(ANN)
    opened = await client.views_open(trigger_id=trigger, view=REASON_MODAL)
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["hash"]
    assert view["callback_id"] == "reset_request"
    assert view["state"] == {"values": {}}
    assert [v.id for v in fake.open_views(ANN)] == [view["id"]]
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=trigger, view=REASON_MODAL)
    assert err.value.response["error"] == "exchanged_trigger_id"
    late = fake.new_trigger_id(ANN)
    slack_clock.now += 3.5
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=late, view=REASON_MODAL)
    assert err.value.response["error"] == "expired_trigger_id"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="123.456.abc", view=REASON_MODAL)
    assert err.value.response["error"] == "invalid_trigger_id"
    too_long = {**REASON_MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=too_long)
    assert err.value.response["error"] == "invalid_arguments"


async def test_views_update_push_and_publish(fake: FakeSlack, client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL))["view"]
    changed = {**REASON_MODAL, "title": {"type": "plain_text", "text": "Checking…"}}
    updated = (await client.views_update(view_id=view["id"], hash=view["hash"], view=changed))["view"]
    assert updated["id"] == view["id"]
    assert updated["hash"] != view["hash"]
    assert fake.view(view["id"]).view["title"]["text"] == "Checking…"
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=changed)
    assert err.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as err:
        await client.views_update(view_id="V999", view=changed)
    assert err.value.response["error"] == "not_found"
    pushed = (await client.views_push(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL))["view"]
    assert pushed["root_view_id"] == view["id"]
    assert pushed["previous_view_id"] == view["id"]
    await client.views_push(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL)
    with pytest.raises(SlackApiError) as err:
        await client.views_push(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL)
    assert err.value.response["error"] == "push_limit_reached"
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your requests"}}],
    }
    published = await client.views_publish(user_id=ANN, view=home)
    assert fake.home(ANN) is not None
    assert fake.home(ANN).id == published["view"]["id"]


async def test_rate_limit_is_honoured_by_the_retry_handler(fake: FakeSlack) -> None:
    client = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    response = await client.chat_postMessage(channel=APPROVERS, text="after the wait")
    assert response["ok"]
    assert time.monotonic() - started >= 0.9
    statuses = [c.status for c in fake.calls("chat.postMessage")]
    assert statuses == [429, 200]


async def test_rate_limit_without_retry_handler_surfaces_429(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_limit("views.open", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL)
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


async def test_failure_injection(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("chat.postEphemeral", "user_not_in_channel", times=1)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postEphemeral(channel=APPROVERS, user=ANN, text="x")
    assert err.value.response["error"] == "user_not_in_channel"
    assert (await client.chat_postEphemeral(channel=APPROVERS, user=ANN, text="x"))["ok"]
    fake.fail("chat.update", "fatal_error", status=500)
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=APPROVERS, ts="1.0", text="x")
    assert err.value.response.status_code == 500


async def test_wait_for_sees_calls_made_after_it_starts(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=APPROVERS, text="early")
    mark = fake.call_count

    waiting = asyncio.create_task(fake.wait_for("chat.postMessage", since=mark, timeout=2))
    await asyncio.sleep(0)  # the wait is under way before the call is made (ordering, not time)
    await client.chat_postMessage(channel=APPROVERS, text="late")
    call = await waiting
    assert call.args["text"] == "late"
    early = await fake.wait_for("chat.postMessage", lambda c: c.args["text"] == "early")
    assert early.args["text"] == "early"
    with pytest.raises(TimeoutError, match=r"chat\.update"):
        await fake.wait_for("chat.update", timeout=0.1)


async def test_transcript_renders_what_people_see(fake: FakeSlack, client: AsyncWebClient) -> None:
    seen: list[str] = []
    fake.printer = seen.append
    await client.chat_postMessage(channel=APPROVERS, text="card", blocks=CARD)
    dm = (await client.conversations_open(users=ANN))["channel"]["id"]
    await client.chat_postEphemeral(channel=dm, user=ANN, text="password: hunter2")
    await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL)
    text = fake.transcript()
    assert "[#approvers] bot: Request #12 by @ann" in text
    assert "[Approve] [Deny]" in text
    assert "[DM @ann, only you] bot: password: hunter2" in text
    assert "[modal for @ann] Reset ECS password" in text
    assert "Reason: [____]" in text
    assert "\n".join(seen) == text
