"""Fixtures for the simulator tests: a running ECS/IAM simulator, fake clocks, a raw HTTP caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sim_http import START, Api
from support.clock import ManualClock

from bot.simulator import Fleet, Simulator


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's clock, moved by the test (token lifetimes, lockouts, stale dates)."""
    return ManualClock(START)


@pytest.fixture
def slack_clock() -> ManualClock:
    """The fake Slack's clock, moved by the test (trigger expiry, rate-limit windows)."""
    return ManualClock()


@pytest.fixture
def fleet() -> Fleet:
    """40 Linux servers, all resettable, plus whatever a test adds."""
    return Fleet.generate(
        40, seed=7, windows_share=0.0, stopped_share=0.0, no_plugin_share=0.0, locked_share=0.0
    )


@pytest.fixture
async def simulator(fleet: Fleet, clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(fleet, clock=clock) as sim:
        yield sim


@pytest.fixture
async def api(simulator: Simulator, clock: ManualClock) -> AsyncIterator[Api]:
    # force_close: a dropped connection must not be hidden behind a pooled one.
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Api(simulator, session, clock)
