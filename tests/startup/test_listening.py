"""Where the bot listens: a port in use is one line naming its variable; with `BOT_METRICS_PORT` the summary
and the container's health check follow; `--version`."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
from support.operator import ROOT, Bot, assert_quiet, environment
from support.processes import free_port

from bot.simulator import Simulator
from bot.simulator.slack import FakeSlack


async def test_a_port_in_use_is_one_line(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = holder.sockets[0].getsockname()[1]
    try:
        env = environment(tmp_path, sim.url, slack.api_url, BOT_HTTP_PORT=str(port))
        bots.append(bot := Bot(env, tmp_path / "run.log"))
        assert await bot.wait_exit() == 1
    finally:
        holder.close()
    out = bot.text()
    assert f"cannot start: port {port} on 127.0.0.1 is already in use" in out, out
    assert_quiet(out)


async def test_a_taken_metrics_port_names_that_port_and_its_variable(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    sim, slack = outside_world
    holder = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    taken = holder.sockets[0].getsockname()[1]
    try:
        env = environment(tmp_path, sim.url, slack.api_url, BOT_METRICS_PORT=str(taken))
        bots.append(bot := Bot(env, tmp_path / "run.log"))
        assert await bot.wait_exit() == 1
    finally:
        holder.close()
    out = bot.text()
    assert (
        f"cannot start: port {taken} on 127.0.0.1 is already in use by another program; stop it or set "
        "BOT_METRICS_PORT" in out
    ), out
    assert_quiet(out)


async def test_with_a_metrics_port_the_summary_and_the_health_check_name_where_health_is(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack], bots: list[Bot]
) -> None:
    """BOT_METRICS_PORT moves /healthz, /livez and /metrics: the one line and the container's check follow."""
    sim, slack = outside_world
    metrics_port = str(free_port())
    env = environment(tmp_path, sim.url, slack.api_url, BOT_METRICS_PORT=metrics_port)
    bots.append(bot := Bot(env, tmp_path / "run.log"))
    [line] = await bot.wait_for_log(r"serving as .*")
    urls = re.findall(r"http://[0-9.]+:\d+/(?:healthz|livez|metrics)", line)
    assert len(urls) == 3, line
    async with aiohttp.ClientSession() as http:
        for url in urls:
            assert f":{metrics_port}/" in url, line
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                assert response.status == 200, (url, await response.text())
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.healthcheck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f":{metrics_port}/healthz: 200" in check.stdout


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert re.fullmatch(r"ecs-reset-bot \d+\.\d+\.\d+\n", result.stdout)
