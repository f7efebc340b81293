"""Start-up's workspace check (`warn_about_the_workspace` in bot/serve.py) when Slack answers 5xx or not at
all: `conversations.info` and `users.info` go to the fake Slack over real HTTP, scripted to fail.

The check is advice, never a gate: it ends by its bound whatever Slack does, says a Slack that did not
answer at DEBUG, and the bot becomes ready all the same. The "not found" answers (WARNING lines with their
fix) are in test_workspace.py.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.processes import BotProcess, free_port

from bot.demo import World, demo_environment
from bot.serve import warn_about_the_workspace
from bot.simulator import Simulator
from bot.simulator.slack import FakeSlack, SlackFault
from bot.slack_checks import check_slack

ROOT = Path(__file__).resolve().parents[2]
LOOKUPS = ("conversations.info", "users.info")
SHORT_BOUND_S = 0.5
"""The check's bound in the in-process tests (production's is 10 s: WORKSPACE_CHECK_DEADLINE_S)."""


@pytest.fixture
async def world() -> AsyncIterator[World]:
    started = await World.start(servers=3)
    yield started
    await started.close()


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level and r.name.startswith("bot")]


async def healthz(world: World) -> int:
    async with world.http.get(f"{world.bot_url}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as answer:
        return answer.status


async def test_look_ups_slack_holds_end_at_the_bound_said_at_debug(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack holds every look-up for a minute: the check gives up at its bound, one DEBUG line says so,
    no WARNING claims a problem nobody could see, and the bot is ready."""
    caplog.set_level(logging.DEBUG, logger="bot")
    bot, _ = await check_slack(world.runtime)
    held = [world.slack.timeout(method, times=None, hold_s=60) for method in LOOKUPS]
    started = time.monotonic()
    found = await warn_about_the_workspace(world.runtime, bot, deadline_s=SHORT_BOUND_S)
    took = time.monotonic() - started
    assert found == 0
    assert took < SHORT_BOUND_S + 5, f"took {took:.1f} s: bounded by its deadline, not by Slack's hold"
    assert all(fault.hits for fault in held), "both look-ups were asked and held"
    assert f"workspace checks at start took over {SHORT_BOUND_S:g} s; skipped" in messages(
        caplog, logging.DEBUG
    )
    assert not [m for m in messages(caplog, logging.WARNING) if m.startswith("workspace: ")]
    assert not messages(caplog, logging.ERROR)
    assert await healthz(world) == 200


async def test_look_ups_slack_answers_5xx_end_at_once_and_are_not_called_missing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack answers 503 to every look-up: the check ends at once (a 5xx is an answer), never says the
    channel or the people are missing (Slack did not say so), and the bot is ready."""
    caplog.set_level(logging.DEBUG, logger="bot")
    bot, _ = await check_slack(world.runtime)
    failing = [world.slack.server_error(method, times=None) for method in LOOKUPS]
    started = time.monotonic()
    await warn_about_the_workspace(world.runtime, bot, deadline_s=30)
    took = time.monotonic() - started
    assert took < 10, f"took {took:.1f} s"
    assert all(fault.hits for fault in failing), "both look-ups were asked and answered 503"
    said = " ".join(messages(caplog, logging.WARNING) + messages(caplog, logging.DEBUG))
    assert "HTTP 503" in said, said
    assert "no such channel" not in said
    assert "no such user" not in said
    assert not [m for m in messages(caplog, logging.DEBUG) if "took over" in m], "ended before its bound"
    assert not messages(caplog, logging.ERROR)
    assert await healthz(world) == 200


async def test_look_ups_slack_answers_5xx_are_said_at_debug(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    bot, _ = await check_slack(world.runtime)
    for method in LOOKUPS:
        world.slack.server_error(method, times=None)
    assert await warn_about_the_workspace(world.runtime, bot, deadline_s=30) == 0
    assert not [m for m in messages(caplog, logging.WARNING) if m.startswith("workspace: ")]


def bot_environment(sim: Simulator, slack: FakeSlack, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BOT_", "DEMO_"))}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        **demo_environment(sim.url, slack.api_url, data_dir),
        "BOT_HTTP_PORT": str(free_port()),
        "BOT_LOG_LEVEL": "DEBUG",
    }


async def test_a_bot_whose_workspace_look_ups_answer_5xx_becomes_ready(
    tmp_path: Path, outside_world: tuple[Simulator, FakeSlack]
) -> None:
    """`python -m bot run` against a Slack whose look-ups all answer 503: /healthz 200, the start-up line,
    no ERROR and no traceback, and a clean stop."""
    sim, slack = outside_world
    failing: list[SlackFault] = [slack.server_error(method, times=None) for method in LOOKUPS]
    bot = BotProcess(bot_environment(sim, slack, tmp_path), tmp_path / "run.log", ROOT)
    try:
        await bot.start(timeout=60)
        out = bot.log_text()
        assert all(fault.hits for fault in failing), out
        assert "serving as" in out, out
        assert " ERROR " not in out, out
        assert "Traceback" not in out, out
    finally:
        code = await bot.stop()
    assert code == 0, bot.log_tail()
