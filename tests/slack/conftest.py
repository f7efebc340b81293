"""Fixtures for the Slack front-end tests: a whole World (simulator, fake Slack, real bot over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from slack_helpers import OUTSIDER, targets_file

from bot.demo import World

WorldFactory = Callable[..., Awaitable[World]]


@pytest.fixture
async def make_world() -> AsyncIterator[WorldFactory]:
    """Starts Worlds with any `World.start` arguments and closes them all after the test."""
    started: list[World] = []

    async def make(**kwargs: object) -> World:
        world = await World.start(**kwargs)  # type: ignore[arg-type]
        started.append(world)
        world.slack.add_user(OUTSIDER, "dave", "Dave (not on call)")
        return world

    yield make
    for world in reversed(started):
        await world.close()


@pytest.fixture
async def world(make_world: WorldFactory) -> World:
    """The demo world: targets demo-aksk (1 approval, reason pattern) and demo-iam (2 approvals)."""
    return await make_world()


@pytest.fixture
async def restricted_world(make_world: WorldFactory, tmp_path: Path) -> World:
    """demo-aksk open to the requester only; demo-iam open to the first approver only."""
    config = targets_file(
        tmp_path,
        {
            "demo-aksk": {"requesters": "[UDEMOREQUESTER]"},
            "demo-iam": {"requesters": "[UDEMOAPPROVER1]"},
        },
    )
    return await make_world(env={"BOT_CONFIG": str(config)})
