"""A running simulator for any test tree: `async with running_simulator(...) as sim:`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.simulator import Simulator


@asynccontextmanager
async def running_simulator(**kwargs: Any) -> AsyncIterator[Simulator]:
    """Start a `Simulator(**kwargs)` on a free local port and stop it afterwards."""
    sim = Simulator(**kwargs)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
