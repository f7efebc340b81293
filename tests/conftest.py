"""Suite-wide: say up front whether the PostgreSQL tests will run, so a skip is never silent; and let go
of each test's web applications, so the collector's full passes stay short through a long run."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import aiohttp.web_app
import pytest
from support.pg import postgres_problem, shown_url

from bot.simulator import Fleet, Simulator
from bot.simulator.slack import FakeSlack, SlackUser


def pytest_report_header(config: pytest.Config) -> list[str]:
    problem = asyncio.run(postgres_problem())
    if problem is None:
        return [f"PostgreSQL: {shown_url()} answers; the PostgreSQL tests run."]
    ci = os.environ.get("CI", "").lower() == "true"
    verdict = "CI=true, so they FAIL" if ci else "they are SKIPPED (each listed with its reason at the end)"
    return [f"PostgreSQL: {shown_url()} does not answer ({problem}); {verdict}."]


@pytest.fixture(autouse=True)
def _forget_web_apps() -> Iterator[None]:
    """aiohttp caches each application's middleware chain in one process-wide LRU of 1,024 entries, which
    keeps every bot, fake Slack and simulator a test started alive long after it stopped. A server lives
    for the process in production; here hundreds do, and the heap they pin makes each full garbage
    collection take long enough (seconds on a loaded machine) to push a later test past Slack's 3 s or the
    bot's 2 s budget. A private name of aiohttp's, so looked up with care."""
    yield
    cache = getattr(aiohttp.web_app, "_cached_build_middleware", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()


@pytest.fixture
async def outside_world() -> AsyncIterator[tuple[Simulator, FakeSlack]]:
    """The ECS simulator (5 servers) and a fake Slack, started; for the command-line tests. The workspace
    holds what the demo targets name (approvers, the incident commander, the approvers channel), so a
    start in it is a healthy one: no workspace warnings."""
    sim = Simulator(Fleet.generate(5, seed=1))
    await sim.start()
    slack = FakeSlack(
        users=[SlackUser(u, u.lower()) for u in ("UDEMOAPPROVER1", "UDEMOAPPROVER2", "UDEMOIC")],
        channels={"CDEMOAPPROVALS": "ecs-approvals"},
    )
    await slack.start()
    yield sim, slack
    await slack.stop()
    await sim.stop()
