"""Suite-wide: say up front whether the PostgreSQL tests will run, so a skip is never silent."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

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
