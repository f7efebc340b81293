"""The runtime's own endpoints: health that tells the truth about the database, and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from support.pg import create_pg_database, drop_pg_database
from support.proxy import CuttableRelay

from bot.demo import World
from bot.simulator.slack import FAKE_APP_TOKEN, FAKE_BOT_TOKEN


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = await World.start(servers=5)
    yield world
    await world.close()


async def test_healthz_reports_the_database_going_away() -> None:
    # A database of its own: the shared one's public schema may hold another branch's migrations.
    database = await create_pg_database()
    url = make_url(database.url)
    proxy = CuttableRelay(url.host or "127.0.0.1", url.port or 5432)
    port = await proxy.start()
    proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    world = await World.start(servers=5, env={"BOT_DATABASE_URL": proxied})
    try:
        async with world.http.get(f"{world.bot_url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["ok"] is True
        proxy.cut()
        async with world.http.get(f"{world.bot_url}/healthz") as response:
            assert response.status == 503
            body = await response.json()
        assert body["ok"] is False
        assert "database" in body["problems"]["database"].lower()
    finally:
        await world.close()
        await proxy.close()
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
