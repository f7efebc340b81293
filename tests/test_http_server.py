"""The HTTP listeners under slow and greedy clients: half-sent requests are cut off, connections are
capped, health and metrics have their own listener and /metrics its bearer token; Slack's signed
requests and /healthz still answer. Real sockets against the real listeners of a World."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from support.polling import eventually

from bot.demo import REQUESTER, World
from bot.slack import ids

WorldFactory = Callable[..., Awaitable[World]]
READ_TIMEOUT_S = 1.0


@pytest.fixture
async def make_world() -> AsyncIterator[WorldFactory]:
    started: list[World] = []

    async def make(**env: str) -> World:
        world = await World.start(env={"BOT_HTTP_READ_TIMEOUT": str(READ_TIMEOUT_S), **env})
        started.append(world)
        return world

    yield make
    for world in reversed(started):
        await world.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_by_server(reader: asyncio.StreamReader, within_s: float) -> tuple[bool, bytes]:
    """Whether the server closed the connection within `within_s` seconds, and what it sent first."""
    try:
        data = await asyncio.wait_for(reader.read(), within_s)
    except TimeoutError:
        return False, b""
    return True, data


async def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers or {}) as response,
    ):
        return response.status, await response.text()


async def signed_history(world: World) -> tuple[int, str]:
    return await world.send(world.requests.slash_command(ids.COMMAND, "history", user_id=REQUESTER))


def port_of(world: World, which: str = "slack") -> int:
    port = world.listeners.slack_port if which == "slack" else world.listeners.metrics_port
    assert port is not None
    return port


async def test_a_client_that_never_finishes_its_headers_is_cut_off(make_world: WorldFactory) -> None:
    world = await make_world(BOT_HTTP_MAX_CONNECTIONS="4")
    port = port_of(world)
    slow = [await connect(port) for _ in range(4)]  # every connection the listener allows
    for _, writer in slow:
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www")
        await writer.drain()
    started = time.monotonic()
    results = await asyncio.gather(*(closed_by_server(r, READ_TIMEOUT_S + 10) for r, _ in slow))
    assert all(closed for closed, _ in results), "a half-sent request kept its connection"
    assert time.monotonic() - started < READ_TIMEOUT_S + 10
    # Slack's signed requests and the health check answer again.
    status, answer = await signed_history(world)
    assert status == 200, answer
    assert "no requests" in answer
    assert (await get(port, "/healthz"))[0] == 200
    for _, writer in slow:
        writer.close()


async def test_a_body_not_sent_in_time_is_answered_408(make_world: WorldFactory) -> None:
    world = await make_world()
    reader, writer = await connect(port_of(world))
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 400\r\n\r\npayload=%7B"
    )
    await writer.drain()
    closed, answer = await closed_by_server(reader, READ_TIMEOUT_S + 10)
    assert closed
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    writer.close()
    assert (await signed_history(world))[0] == 200


async def test_a_client_gone_mid_body_is_no_error(
    make_world: WorldFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A peer that drops the connection half-way through a body (a client stopped, a proxy's reset) leaves
    nobody to answer: one DEBUG line, no ERROR with aiohttp's traceback, and the listener serves on."""
    caplog.set_level(logging.DEBUG, logger="bot.http_server")
    world = await make_world()
    _, writer = await connect(port_of(world))
    writer.write(
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 400\r\n\r\npayload=%7B"
    )
    await writer.drain()
    writer.transport.abort()  # gone, without finishing the body
    status, _ = await signed_history(world)  # the listener still answers (and has seen the reset)
    assert status == 200
    await eventually(
        lambda: any("connection lost" in r.getMessage() for r in caplog.records), 10, "the DEBUG line"
    )
    errors = [r for r in caplog.records if r.levelno >= 40]
    assert errors == [], [r.getMessage() for r in errors]


async def test_connections_beyond_the_cap_are_closed_and_health_has_its_own_listener(
    make_world: WorldFactory,
) -> None:
    world = await make_world(BOT_HTTP_MAX_CONNECTIONS="3", BOT_METRICS_PORT="9", BOT_HTTP_READ_TIMEOUT="30")
    slack_port, metrics_port = port_of(world), port_of(world, "metrics")
    held = [await connect(slack_port) for _ in range(3)]
    extra_reader, extra_writer = await connect(slack_port)
    closed, data = await closed_by_server(extra_reader, 5.0)
    assert closed, "the connection over the cap was kept"
    assert data == b""
    # Health and metrics are on their own listener, and not on Slack's.
    assert (await get(metrics_port, "/healthz"))[0] == 200
    assert (await get(metrics_port, "/metrics"))[0] == 200
    for _, writer in held:
        writer.close()
        await writer.wait_closed()
    extra_writer.close()

    async def served() -> bool:
        try:
            return (await signed_history(world))[0] == 200
        except aiohttp.ClientError:
            return False

    # The listener counts the closed connections out as it notices them.
    await eventually(served, 10, "the listener taking connections again")
    assert (await get(slack_port, "/healthz"))[0] == 404
    assert (await get(slack_port, "/metrics"))[0] == 404


async def test_metrics_need_the_bearer_token_when_one_is_set(make_world: WorldFactory) -> None:
    world = await make_world(BOT_METRICS_TOKEN="s3cret-metrics-token")
    port = port_of(world)
    assert (await get(port, "/metrics"))[0] == 401
    assert (await get(port, "/metrics", {"Authorization": "Bearer wrong"}))[0] == 401
    status, body = await get(port, "/metrics", {"Authorization": "Bearer s3cret-metrics-token"})
    assert status == 200
    assert "ecs_reset" in body or "# HELP" in body
    assert (await get(port, "/healthz"))[0] == 200, "health stays open for probes"
