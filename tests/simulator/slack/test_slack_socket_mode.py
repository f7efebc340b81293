"""Socket Mode as Slack runs it: hello, envelopes and acks, disconnect envelopes, the connection limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.simulator.slack import FakeSlack, SlackRequests, SlackUser

ANN = "U0ANN"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(users=[SlackUser(ANN, "ann")], max_socket_connections=2) as slack:
        yield slack


async def open_socket(fake: FakeSlack, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    web = AsyncWebClient(token=fake.app_token, base_url=fake.api_url)
    url = (await web.apps_connections_open(app_token=fake.app_token))["url"]
    return await session.ws_connect(url)


async def next_json(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await socket.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    data = json.loads(message.data)
    assert isinstance(data, dict)
    return data


async def test_the_connection_past_the_limit_is_told_too_many_websockets(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        first = await open_socket(fake, session)
        second = await open_socket(fake, session)
        assert (await next_json(first))["type"] == "hello"
        assert (await next_json(second))["num_connections"] == 2
        third = await open_socket(fake, session)
        refusal = await next_json(third)
        assert (refusal["type"], refusal["reason"]) == ("disconnect", "too_many_websockets")
        assert (await third.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert fake.socket_count == 2
        for socket in (first, second):
            await socket.close()


@pytest.mark.parametrize("reason", ["warning", "refresh_requested", "link_disabled"])
async def test_disconnect_envelopes(fake: FakeSlack, reason: str) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await open_socket(fake, session)
        assert (await next_json(socket))["type"] == "hello"
        await fake.socket_connected()
        await fake.socket_disconnect(reason)
        envelope = await next_json(socket)
        assert (envelope["type"], envelope["reason"]) == ("disconnect", reason)
        if reason == "warning":
            assert fake.socket_count == 1, "a warning leaves the connection open"
        else:
            closing = await socket.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert fake.socket_count == 0
        await socket.close()
    with pytest.raises(ValueError, match="not a Socket Mode disconnect reason"):
        await fake.socket_disconnect("bored")


async def test_slack_sdk_client_reconnects_on_refresh_and_acks_envelopes(fake: FakeSlack) -> None:
    web = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    client = SocketModeClient(app_token=fake.app_token, web_client=web, auto_reconnect_enabled=True)
    seen: list[str] = []

    async def listener(c: SocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request.type)
        await c.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "acked"})
        )

    client.socket_mode_request_listeners.append(listener)  # type: ignore[arg-type]
    await client.connect()
    try:
        await fake.socket_connected()
        await fake.socket_disconnect("refresh_requested")
        await fake.socket_connected(opened=2)
        requests = SlackRequests("unused-secret", slack=fake)
        answer = await fake.socket_deliver(requests.slash_command("/reset-ecs-password", "help", user_id=ANN))
        assert answer == {"text": "acked"}
        event_ack = await fake.socket_deliver(requests.app_home_opened(user_id=ANN))
        assert event_ack == {"text": "acked"}
        assert seen == ["slash_commands", "events_api"]
    finally:
        await client.close()
