"""The runtime's own endpoints: health that tells the truth about the database, and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from support.pg import create_pg_database, drop_pg_database

from bot.demo import World
from bot.simulator.slack import FAKE_APP_TOKEN, FAKE_BOT_TOKEN


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = await World.start(servers=5)
    yield world
    await world.close()


class TcpProxy:
    """Forwards to PostgreSQL until `cut()`: the database going away under a running bot."""

    def __init__(self, port: int) -> None:
        self.target_port = port
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for pipe in self.pipes:
            pipe.close()
        await self.server.wait_closed()


async def test_healthz_reports_the_database_going_away() -> None:
    # A database of its own: the shared one's public schema may hold another branch's migrations.
    database = await create_pg_database()
    url = make_url(database.url)
    proxy = TcpProxy(url.port or 5432)
    port = await proxy.start()
    proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    world = await World.start(servers=5, env={"BOT_DATABASE_URL": proxied})
    try:
        async with world.http.get(f"{world.bot_url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["ok"] is True
        await proxy.cut()
        async with world.http.get(f"{world.bot_url}/healthz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["ok"] is False
        assert "database" in body["problems"]["database"].lower()
    finally:
        await world.close()
        await drop_pg_database(database)


async def test_metrics_count_requests_in_prometheus_format(world: World) -> None:
    view = await world.open_modal("UDEMOREQUESTER", "web-0001")
    await world.submit("UDEMOREQUESTER", view, target="demo-aksk", servers=["web-0001"], reason="OPS-1 test")
    await world.card_for()
    async with world.http.get(f"{world.bot_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    assert 'ecs_reset_requests_total{status="pending",target="demo-aksk"}' in text
    assert "ecs_reset_background_tasks" in text


async def test_slack_endpoint_rejects_unsigned_requests(world: World) -> None:
    async with world.http.post(
        f"{world.bot_url}/slack/events", data=b"command=%2Freset-ecs-password"
    ) as response:
        assert response.status == 401
    assert world.slack.calls("views.open") == []


async def test_close_drains_background_work_and_is_safe_to_repeat() -> None:
    world = await World.start(servers=5)
    view = await world.open_modal("UDEMOREQUESTER", "web-0001")
    await world.submit("UDEMOREQUESTER", view, target="demo-aksk", servers=["web-0001"], reason="OPS-2 drain")
    await world.close()
    assert world.runtime.tasks.running == 0


async def test_healthz_tells_while_slack_refuses_the_bot_token(world: World) -> None:
    async with world.http.get(f"{world.bot_url}/healthz") as response:
        assert response.status == 200
    world.slack.bot_token = "xoxb-rotated-elsewhere"  # the token was regenerated; the bot has the old one
    with pytest.raises(SlackApiError):
        await world.runtime.slack_client.auth_test()
    async with world.http.get(f"{world.bot_url}/healthz") as response:
        assert response.status == 503
        problem = (await response.json())["problems"]["slack_bot_token"]
    assert problem.startswith("Slack refuses SLACK_BOT_TOKEN (invalid_auth"), problem
    async with world.http.get(f"{world.bot_url}/livez") as response:
        assert response.status == 200  # a restart would not help: not a liveness failure

    world.slack.bot_token = FAKE_BOT_TOKEN  # the operator put the right token back (or Slack recovered)
    await world.runtime.slack_client.auth_test()
    async with world.http.get(f"{world.bot_url}/healthz") as response:
        assert response.status == 200


async def test_a_refused_app_level_token_is_its_own_problem(world: World) -> None:
    """The one token watch (the Web API client) tells the two tokens apart: a refused app-level token
    (Socket Mode's apps.connections.open) is `slack_app_token`, and the bot token is not blamed for it."""
    client = world.runtime.slack_client
    with pytest.raises(SlackApiError):
        await client.apps_connections_open(app_token="xapp-1-revoked")
    async with world.http.get(f"{world.bot_url}/healthz") as response:
        assert response.status == 503
        problems = (await response.json())["problems"]
    assert problems["slack_app_token"].startswith("Slack refuses SLACK_APP_TOKEN (invalid_auth"), problems
    assert "slack_bot_token" not in problems
    assert client.health.token_refusal is None

    await client.apps_connections_open(app_token=FAKE_APP_TOKEN)
    async with world.http.get(f"{world.bot_url}/healthz") as response:
        assert response.status == 200
