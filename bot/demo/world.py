"""A whole world on localhost: the ECS simulator, a fake Slack, and the real bot between them.

`python -m bot demo` (and `run` without Slack credentials) plays one request through it and prints
what each person would see (script.py); the Slack tests and some benchmarks drive the same `World`,
whose people's moves are `People`'s (people.py).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import Listeners, Runtime, Tuning
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import load_app_config
from bot.demo.cast import APPROVERS_CHANNEL, SIGNING_SECRET, demo_environment, demo_users
from bot.demo.people import People
from bot.demo.slack_side import LocalSlack, latest_message
from bot.simulator import Fleet, Simulator
from bot.simulator.slack import FakeSlack, SlackCall, SlackRequests, SlackUsergroup, StoredMessage


class World(People):
    """The simulator, the fake Slack and one bot (its `runtime` in this process), all started, and the
    people's moves against it; `close()` stops them in reverse."""

    def __init__(
        self,
        sim: Simulator,
        slack: FakeSlack,
        runtime: Runtime,
        listeners: Listeners,
        http: aiohttp.ClientSession,
        tmp: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        self.sim = sim
        self.slack = slack
        self.runtime = runtime
        self.listeners = listeners
        self.bot_url = f"http://127.0.0.1:{listeners.slack_port}"
        self._tmp = tmp
        requests = SlackRequests(SIGNING_SECRET, slack=slack)
        super().__init__(f"{self.bot_url}/slack/events", requests, http, LocalSlack(slack))

    @classmethod
    async def start(
        cls,
        *,
        servers: int = 40,
        seed: int = 7,
        env: Mapping[str, str] | None = None,
        tuning: Tuning | None = None,
        printer: Callable[[str], None] | None = None,
        fleet: Fleet | None = None,
        latency_s: float = 0.0,
        slack_options: Mapping[str, Any] | None = None,
        usergroups: Iterable[SlackUsergroup] = (),
        clock: Clock = SYSTEM_CLOCK,
    ) -> World:
        """Start everything; `slack_options` go to `FakeSlack` (a clock, scopes, rate limits…); `clock`
        is the bot's (tests move it instead of waiting)."""
        # Each part is stopped again if a later one fails or a signal cancels the start: no process, port
        # or temporary folder is left behind.
        async with contextlib.AsyncExitStack() as undo:
            sim = Simulator(fleet or Fleet.generate(servers, seed=seed), latency_s=latency_s)
            await sim.start()
            undo.push_async_callback(sim.stop)
            slack = FakeSlack(
                users=demo_users(),
                channels={APPROVERS_CHANNEL: "ecs-approvals"},
                usergroups=usergroups,
                printer=printer,
                **(slack_options or {}),
            )
            await slack.start()
            undo.push_async_callback(slack.stop)
            tmp = tempfile.TemporaryDirectory(prefix="ecs-reset-bot-")
            undo.callback(tmp.cleanup)
            environ = demo_environment(sim.url, slack.api_url, Path(tmp.name), **(env or {}))
            runtime = await Runtime.build(
                load_app_config(environ, register_secrets=True),
                tuning=tuning or Tuning(sweep_interval_s=1.0, job_poll_interval_s=0.05, drain_timeout_s=5.0),
                clock=clock,
            )
            undo.push_async_callback(runtime.close)
            await runtime.start()
            listeners = await runtime.listen(http_port=0, metrics_port=0)
            undo.push_async_callback(listeners.close)
            world = cls(sim, slack, runtime, listeners, aiohttp.ClientSession(), tmp)
            undo.pop_all()
            return world
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Stops everything in reverse order; the temporary folder goes even if a step fails or is cut off."""
        try:
            await self.http.close()
            await self.listeners.close()
            await self.runtime.close()
            await self.slack.stop()
            await self.sim.stop()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()

    async def wait(
        self,
        method: str,
        predicate: Callable[[SlackCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> SlackCall:
        """The first recorded `method` call `predicate` accepts (any test, in this process)."""
        return await self.slack.wait_for(method, predicate, timeout)

    async def card_for(
        self,
        request_id: int | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> StoredMessage:
        """The approval card as it stands now in the approvers' channel (it is edited in place)."""
        return await self.card(request_id, timeout)

    def message_like(self, channel: str, text_start: str) -> StoredMessage:
        """The latest top-level message of `channel` starting with `text_start`; LookupError if none."""
        return latest_message(self.slack.messages(channel), channel, text_start)
