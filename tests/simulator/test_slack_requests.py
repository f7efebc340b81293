"""Inbound signing: events are signed like the rest and redelivered as Slack redelivers them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.simulator.slack import SlackRequests

SECRET = "events-secret"


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
