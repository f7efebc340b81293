"""The fake Slack must behave like Slack for AsyncWebClient and Bolt, or every other test lies."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from support.fake_slack import REASON_MODAL, ManualClock

from bot.simulator.slack import FakeSlack, SlackRequests, SlackUser, SlackUsergroup
from bot.simulator.slack import limits as slack_limits
from bot.simulator.slack.scopes import manifest_bot_scopes

SECRET = "test-signing-secret"
ANN, BOB, CAROL = "U0ANN", "U0BOB", "U0CAROL"
APPROVERS = "C0APPROVERS"


CARD = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Request #12 by <@U0ANN>"}},
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Server* web-1"}]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "expires in 1 h"}]},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "12",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "deny",
                "value": "12",
                "text": {"type": "plain_text", "text": "Deny"},
            },
        ],
    },
]


@pytest.fixture
async def fake(slack_clock: ManualClock) -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(
        users=[
            SlackUser(ANN, "ann", "Ann Example", email="ann@example.com"),
            SlackUser(BOB, "bob", "Bob Example"),
            SlackUser(CAROL, "carol"),
        ],
        usergroups=[SlackUsergroup("S0LEADS", "sre-leads", [BOB, CAROL])],
        channels={APPROVERS: "approvers"},
        clock=slack_clock,
        # The manifest's scopes plus three this file's tests use and the bot does not.
        scopes=(*manifest_bot_scopes(), "reactions:write", "users:read", "users:read.email"),
    )
    async with slack:
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

    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=APPROVERS, text="late")

    task = asyncio.create_task(later())
    call = await fake.wait_for("chat.postMessage", since=mark, timeout=2)
    assert call.args["text"] == "late"
    await task
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


def test_signed_requests_verify() -> None:
    requests = SlackRequests(SECRET)
    body, headers = requests.slash_command("/reset-ecs-password", "web-1", user_id=ANN, trigger_id="1.2.3")
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    form = urllib.parse.parse_qs(body.decode())
    assert form["command"] == ["/reset-ecs-password"]
    assert form["text"] == ["web-1"]
    body, headers = requests.block_actions(
        user_id=BOB, action_id="approve", value="12", channel_id=APPROVERS, message_ts="1.000001"
    )
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == BOB
    assert payload["actions"][0]["action_id"] == "approve"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1.000001",
        "channel_id": APPROVERS,
        "is_ephemeral": False,
    }


# ------------------------------------------------------------------------------- through real Bolt


@pytest.fixture
async def bolt(fake: FakeSlack) -> AsyncIterator[tuple[str, list[str]]]:
    """A tiny Bolt app, served over HTTP, whose listeners call the fake: the bot's real wiring in small."""
    ran: list[str] = []
    app = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url))

    @app.command("/reset-ecs-password")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        ran.append(f"command {body['text']}")
        await client.views_open(trigger_id=body["trigger_id"], view=REASON_MODAL)
        await respond(text="opening the form")

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        ran.append(f"approve {body['actions'][0]['value']} by {body['user']['id']}")
        container = body["container"]
        await client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text="approved")

    @app.view("reset_request")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["reason"]["value"]
        if not reason:
            await ack(response_action="errors", errors={"reason": "Give a reason"})
            return
        ran.append(f"submitted {reason}")
        await ack()

    @app.view_closed("reset_request")
    async def closed(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        ran.append(f"closed by {body['user']['id']} cleared={body['is_cleared']}")

    @app.options("server_search")
    async def options(ack: Any, body: dict[str, Any]) -> None:
        await ack(options=[{"text": {"type": "plain_text", "text": body["value"]}, "value": "id-1"}])

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        ran.append(f"home opened by {event['user']}")
        home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
        await client.views_publish(user_id=event["user"], view=home)

    @app.shortcut("reset_from_anywhere")
    async def shortcut(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        ran.append(f"{body['type']} by {body['user']['id']}")
        await client.views_open(trigger_id=body["trigger_id"], view=REASON_MODAL)

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/slack/events", ran
    await runner.cleanup()


async def test_bolt_accepts_a_signed_slash_command(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    requests = SlackRequests(SECRET, slack=fake)
    status, _ = await requests.deliver(
        url, requests.slash_command("/reset-ecs-password", "web-1", user_id=ANN, channel_id=APPROVERS)
    )
    assert status == 200
    opened = await fake.wait_for("views.open")
    assert opened.ok
    assert ran == ["command web-1"]
    responded = await fake.wait_for("response_url")
    assert responded.args["text"] == "opening the form"
    assert "[#approvers, only @ann] bot: opening the form" in fake.transcript()


async def test_bolt_accepts_a_signed_block_action(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    card = await client.chat_postMessage(channel=APPROVERS, text="pending", blocks=CARD)
    requests = SlackRequests(SECRET, slack=fake)
    status, _ = await requests.deliver(
        url,
        requests.block_actions(
            user_id=BOB, action_id="approve", value="12", channel_id=APPROVERS, message_ts=card["ts"]
        ),
    )
    assert status == 200
    await fake.wait_for("chat.update")
    assert ran == ["approve 12 by U0BOB"]
    assert fake.message(APPROVERS, card["ts"]).text == "approved"


async def test_view_submission_errors_then_closes(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    view = (await client.views_open(trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL))["view"]
    requests = SlackRequests(SECRET, slack=fake)
    empty = {"reason": {"reason": {"type": "plain_text_input", "value": None}}}
    status, answer = await requests.deliver(
        url, requests.view_submission(user_id=ANN, view=view, values=empty)
    )
    assert status == 200
    assert json.loads(answer) == {"response_action": "errors", "errors": {"reason": "Give a reason"}}
    assert "errors] reason: Give a reason" in fake.transcript()
    assert fake.open_views(ANN)
    filled = {"reason": {"reason": {"type": "plain_text_input", "value": "INC-42"}}}
    status, _ = await requests.deliver(url, requests.view_submission(user_id=ANN, view=view, values=filled))
    assert status == 200
    assert ran == ["submitted INC-42"]
    assert fake.open_views(ANN) == []


async def test_block_suggestion_reaches_the_options_listener(
    fake: FakeSlack, bolt: tuple[str, list[str]]
) -> None:
    url, _ = bolt
    requests = SlackRequests(SECRET, slack=fake)
    status, answer = await requests.deliver(
        url, requests.block_suggestion(user_id=ANN, action_id="server_search", value="web", view=REASON_MODAL)
    )
    assert status == 200
    assert json.loads(answer)["options"][0]["value"] == "id-1"


async def test_forged_or_stale_signature_gets_401(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    forged = SlackRequests("not-the-secret", slack=fake)
    status, _ = await forged.deliver(url, forged.slash_command("/reset-ecs-password", user_id=ANN))
    assert status == 401
    stale = SlackRequests(SECRET, slack=fake, clock=lambda: time.time() - 600)
    status, _ = await stale.deliver(url, stale.slash_command("/reset-ecs-password", user_id=ANN))
    assert status == 401
    async with aiohttp.ClientSession() as session:
        body, headers = SlackRequests(SECRET).slash_command("/reset-ecs-password", user_id=ANN)
        async with session.post(url, data=body + b"&text=tampered", headers=headers) as response:
            assert response.status == 401
    assert ran == []


async def test_view_closed_reaches_the_listener(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    requests = SlackRequests(SECRET, slack=fake)
    status, _ = await requests.deliver(url, requests.view_closed(user_id=ANN, view=REASON_MODAL))
    assert status == 200
    assert ran == ["closed by U0ANN cleared=False"]


async def test_response_url_works_five_times(fake: FakeSlack) -> None:
    url = fake.new_response_url(APPROVERS, ANN)
    async with aiohttp.ClientSession() as session:
        statuses = []
        for n in range(6):
            async with session.post(url, json={"text": f"update {n}"}) as response:
                statuses.append(response.status)
    assert statuses == [200] * 5 + [404]
    assert [e.text for e in fake.ephemerals(APPROVERS, ANN)] == [f"update {n}" for n in range(5)]


async def test_form_encoded_views_open_and_modal_action_payload(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.api_call(
        "views.open", data={"trigger_id": fake.new_trigger_id(ANN), "view": json.dumps(REASON_MODAL)}
    )
    view_id = opened["view"]["id"]
    requests = SlackRequests(SECRET, slack=fake)
    body, _ = requests.block_actions(user_id=ANN, action_id="mode", view={"id": view_id}, value="batch")
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["container"] == {"type": "view", "view_id": view_id}
    assert payload["view"]["callback_id"] == "reset_request"
    assert payload["view"]["hash"] == fake.view(view_id).hash
    assert "response_url" not in payload


async def test_events_and_shortcuts_reach_bolt(fake: FakeSlack, bolt: tuple[str, list[str]]) -> None:
    url, ran = bolt
    requests = SlackRequests(SECRET, slack=fake)
    status, _ = await requests.deliver(url, requests.app_home_opened(user_id=ANN))
    assert status == 200
    await fake.wait_for("views.publish")
    home = fake.home(ANN)
    assert home is not None
    status, _ = await requests.deliver(url, requests.shortcut(user_id=BOB, callback_id="reset_from_anywhere"))
    assert status == 200
    await fake.wait_for("views.open")
    mark = fake.call_count
    status, _ = await requests.deliver(
        url,
        requests.message_action(
            user_id=ANN, callback_id="reset_from_anywhere", channel_id=APPROVERS, message={"ts": "1.000001"}
        ),
    )
    assert status == 200
    await fake.wait_for("views.open", lambda c: c.ok, since=mark)
    assert ran == ["home opened by U0ANN", "shortcut by U0BOB", "message_action by U0ANN"]
    assert [v.user for v in fake.views.values() if v.view["type"] == "modal"] == [BOB, ANN]


async def test_a_failed_or_late_answer_is_what_the_person_sees(
    fake: FakeSlack, bolt: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = bolt
    requests = SlackRequests(SECRET, slack=fake)
    status, _ = await requests.deliver(
        url + "-nowhere", requests.slash_command("/reset-ecs-password", user_id=ANN)
    )
    assert status == 404
    assert [(e.user, e.where) for e in fake.shown_errors] == [(ANN, "command /reset-ecs-password")]
    assert "dispatch_failed" in fake.shown_errors[0].text
    # Every answer is late when the deadline is zero (Slack's is 3 s, measured as Slack would: wall time).
    monkeypatch.setattr(slack_limits, "ACK_DEADLINE_SECONDS", 0.0)
    view = (
        await AsyncWebClient(token=fake.bot_token, base_url=fake.api_url).views_open(
            trigger_id=fake.new_trigger_id(ANN), view=REASON_MODAL
        )
    )["view"]
    filled = {"reason": {"reason": {"type": "plain_text_input", "value": "INC-7"}}}
    status, _ = await requests.deliver(url, requests.view_submission(user_id=ANN, view=view, values=filled))
    assert status == 200
    assert [(e.where, "operation_timeout" in e.text) for e in fake.shown_errors[1:]] == [("modal", True)]
