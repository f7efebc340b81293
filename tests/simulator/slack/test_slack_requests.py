"""What the fake Slack sends the bot: signed requests (commands, clicks, submissions, suggestions, events,
shortcuts) that real Bolt accepts, events redelivered as Slack redelivers them, response_url, and Slack's
3 s deadline."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_workspace import ANN, APPROVERS, BOB, CARD, example_slack
from support.clock import ManualClock
from support.fake_slack import REASON_MODAL

from bot.simulator.slack import FakeSlack, SlackRequests
from bot.simulator.slack import limits as slack_limits

SECRET = "test-signing-secret"


@pytest.fixture
async def fake(slack_clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with example_slack(slack_clock) as slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


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


@pytest.fixture
async def flaky_app() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """An app that fails the first two deliveries, recording the headers of each."""
    seen: list[dict[str, str]] = []

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-slack")}
        assert SignatureVerifier(SECRET).is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        seen.append(headers)
        return web.Response(status=500 if len(seen) <= 2 else 200)

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events", seen
    await runner.cleanup()


async def test_an_event_is_redelivered_until_answered(flaky_app: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = flaky_app
    requests = SlackRequests(SECRET)
    event = requests.app_home_opened(user_id="U0ANN")
    envelope = json.loads(event.body)
    assert (envelope["type"], envelope["event"]["type"], envelope["event"]["user"]) == (
        "event_callback",
        "app_home_opened",
        "U0ANN",
    )
    answers = await requests.deliver_event(url, event)
    assert [status for status, _ in answers] == [500, 500, 200]
    assert [h.get("X-Slack-Retry-Num") for h in seen] == [None, "1", "2"]
    assert [h.get("X-Slack-Retry-Reason") for h in seen] == [None, "http_error", "http_error"]


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
