"""A faithful fake of the ECS and IAM APIs, for the demo and for tests of the bot's client.

`Simulator` owns the aiohttp app and a `Fleet`; start it, point the client at `sim.url`
(ECS and IAM live there both), and inspect `sim.calls`, `sim.fleet` and the counters.
"""

from __future__ import annotations

import asyncio
import sys
from types import TracebackType
from typing import Self, TextIO

from aiohttp import web

from bot.simulator.auth import SimUser
from bot.simulator.ecs_api import build_app
from bot.simulator.faults import Fault, FaultKind
from bot.simulator.fleet import Fleet, SimServer
from bot.simulator.records import RecordedCall
from bot.simulator.state import (
    DEMO_ACCESS_KEY,
    DEMO_PROJECT_ID,
    DEMO_PROJECT_NAME,
    DEMO_SECRET_KEY,
    DEMO_USER,
    SimState,
)

__all__ = [
    "DEMO_ACCESS_KEY",
    "DEMO_PROJECT_ID",
    "DEMO_PROJECT_NAME",
    "DEMO_SECRET_KEY",
    "DEMO_USER",
    "Fault",
    "FaultKind",
    "Fleet",
    "RecordedCall",
    "SimServer",
    "SimUser",
    "Simulator",
    "serve_forever",
]


class Simulator(SimState):
    """The fake cloud as a running HTTP server; all `SimState` knobs apply while it runs."""

    url: str = ""

    _runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        """A fresh aiohttp app on this state (for aiohttp's own test client, or embedding)."""
        return build_app(self)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = any free port); sets and returns `url`."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        self.stopping.clear()
        runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Stop listening; requests held by a `timeout` fault are released first."""
        self.stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_forever(
    port: int = 8080,
    *,
    host: str = "127.0.0.1",
    servers: int = 50,
    seed: int = 0,
    latency_ms: float = 0.0,
    out: TextIO = sys.stdout,
) -> None:
    """Run a demo simulator until cancelled, printing the URL and the credentials it accepts.

    This is what `python -m bot simulator --port N` runs.
    """
    sim = Simulator(Fleet.generate(servers, seed=seed), latency_s=latency_ms / 1000)
    await sim.start(host, port)
    print(
        f"ECS/IAM simulator listening on {sim.url} ({servers} servers, seed {seed})\n"
        f"  ecs_endpoint / iam_endpoint: {sim.url}\n"
        f"  project_id: {sim.project_id} (project name {sim.project_name})\n"
        f"  AK/SK: {DEMO_ACCESS_KEY} / {DEMO_SECRET_KEY}\n"
        f"  IAM user: {DEMO_USER.name} / {DEMO_USER.password} (domain {DEMO_USER.domain})",
        file=out,
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
