"""The processes of the HTTP benchmarks: the fakes (bench/fakes_child.py), the bot (`python -m bot run`)
and the bare Bolt baselines (bench/bare_child.py), each alone in its process; the measuring client is
the parent. `RemoteWorld` plays the people (command, submit, click) against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT / "tests") not in sys.path:  # the test aids the benchmarks share (tests/support)
    sys.path.insert(0, str(ROOT / "tests"))


import aiohttp  # noqa: E402
from common import bench_targets_file  # noqa: E402
from support.processes import BotProcess, free_port  # noqa: E402

from bot.demo import SIGNING_SECRET, demo_environment, submission_values  # noqa: E402
from bot.simulator.slack import SignedRequest, SlackRequests  # noqa: E402
from bot.slack import ids  # noqa: E402


def _stderr() -> Any:
    path = os.environ.get("BENCH_DEBUG")
    return open(path, "a") if path else subprocess.DEVNULL


@dataclass
class Child:
    proc: subprocess.Popen[str]
    first_line: str

    def stop(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    @property
    def pid(self) -> int:
        return self.proc.pid


def spawn(args: list[str], env: dict[str, str] | None = None) -> Child:
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=_stderr(),
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"{args[0]} exited with {proc.wait()} (BENCH_DEBUG=/tmp/x.log shows its stderr)")
    return Child(proc, line)


@dataclass
class Processes:
    fakes: Child
    info: dict[str, Any]
    bot: BotProcess | None = None
    bot_url: str = ""
    bares: dict[str, Child] = field(default_factory=dict)
    tmp: str = ""

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
        for child in [*self.bares.values(), self.fakes]:
            child.stop()


def start_fakes(servers: int, *, seed: int = 5, tag: str | None = None, latency_ms: float = 0.0) -> Processes:
    args = [str(HERE / "fakes_child.py"), "--servers", str(servers), "--seed", str(seed)]
    args += ["--latency-ms", str(latency_ms)] + (["--tag", tag] if tag else [])
    fakes = spawn(args)
    return Processes(fakes, json.loads(fakes.first_line))


async def start_bot(procs: Processes, **extra_env: str) -> str:
    """`python -m bot run` in HTTP mode on the bench target, pointed at the fakes; the end-to-end tests'
    `BotProcess` starts it and waits for /healthz (its log, at WARNING, is in the temporary folder)."""
    tmp = Path(tempfile.mkdtemp(prefix="ecs-bench-bot-"))
    env = {
        **os.environ,
        **demo_environment(procs.info["sim_url"], procs.info["slack_api_url"], tmp),
        "BOT_CONFIG": str(bench_targets_file()),
        "BOT_HTTP_HOST": "127.0.0.1",
        "BOT_HTTP_PORT": str(free_port()),
        "BOT_LOG_LEVEL": "WARNING",
        "BOT_SWEEP_INTERVAL": "1s",
        # A benchmark submits dozens of requests a minute as one person: the abuse limits would refuse them.
        "BOT_MAX_SUBMISSIONS_PER_MINUTE": "10000",
        "BOT_MAX_OPEN_REQUESTS": "10000",
        **extra_env,
    }
    bot = BotProcess(env, tmp / "bot.log", ROOT)
    await bot.start(timeout=90)
    procs.bot = bot
    procs.bot_url = bot.events_url
    procs.tmp = str(tmp)
    return procs.bot_url


def start_bare(procs: Processes, name: str, *, pbr: bool) -> str:
    args = [str(HERE / "bare_child.py"), "--slack-api-url", procs.info["slack_api_url"]] + (
        ["--pbr"] if pbr else []
    )
    child = spawn(args)
    procs.bares[name] = child
    return child.first_line


class RemoteWorld:
    """The people's moves against the processes, from the measuring client."""

    def __init__(self, procs: Processes, session: aiohttp.ClientSession) -> None:
        self.procs = procs
        self.http = session
        self.requests = SlackRequests(
            SIGNING_SECRET, team_id=procs.info["team_id"], api_app_id=procs.info["app_id"]
        )

    async def rpc(self, op: str, **args: Any) -> Any:
        async with self.http.post(self.procs.info["rpc_url"], json={"op": op, **args}) as response:
            answer = await response.json()
        if response.status != 200:
            raise TimeoutError(answer.get("error"))
        return answer

    async def send(self, request: SignedRequest, url: str | None = None) -> tuple[int, str]:
        async with self.http.post(url or self.procs.bot_url, data=request.body, headers=request.headers) as r:
            return r.status, await r.text()

    async def count(self) -> int:
        return int((await self.rpc("count"))["count"])

    async def wait_for(
        self,
        method: str,
        *,
        since: int = 0,
        contains: str | None = None,
        channel: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self.rpc(
            "wait_for", method=method, since=since, contains=contains, channel=channel, timeout=timeout
        )
        return answer

    async def mint(self, user: str, n: int = 1, **kw: Any) -> tuple[list[str], list[str]]:
        answer = await self.rpc("mint", user=user, n=n, **kw)
        return answer["triggers"], answer["response_urls"]

    async def command(self, user: str) -> SignedRequest:
        (trigger,), (url,) = await self.mint(user)
        return self.requests.slash_command(
            ids.COMMAND, "", user_id=user, trigger_id=trigger, response_url=url
        )

    async def open_modal(self, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sends the command; returns (the views.open call, the view as Slack echoes it)."""
        since = await self.count()
        status, _ = await self.send(await self.command(user))
        assert status == 200, status
        call = await self.wait_for("views.open", since=since)
        view = (await self.rpc("view_payload", user=user))["view"]
        if view is None:
            raw = call["args"]["view"]
            view = json.loads(raw) if isinstance(raw, str) else dict(raw)
        return call, view

    async def submit(
        self,
        user: str,
        view: dict[str, Any],
        *,
        servers: list[str] | None = None,
        reason: str = "BENCH-1",
        mode: str = "shared",
        tag: str | None = None,
    ) -> None:
        values = submission_values(
            target="bench", paste="\n".join(servers or []), reason=reason, mode=mode, tag=tag
        )
        (trigger,), _ = await self.mint(user)
        request = self.requests.view_submission(user_id=user, view=view, values=values, trigger_id=trigger)
        status, answer = await self.send(request)
        if status != 200 or answer.strip():
            raise RuntimeError(f"submission refused ({status}): {answer[:300]}")

    async def card(self, number: int | None = None, timeout: float = 120) -> dict[str, Any]:
        """The approval card of request #number (or the latest) once it carries an Approve button."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in reversed((await self.rpc("messages", channel="CDEMOAPPROVALS"))["messages"]):
                if (
                    m["thread_ts"] is None
                    and (number is None or f"#{number} " in m["text"])
                    and _button(m["message"]["blocks"], ids.APPROVE_ACTION) is not None
                ):
                    card: dict[str, Any] = m
                    return card
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no approval card for #{number}")

    async def click_request(
        self, user: str, card: dict[str, Any], action_id: str = ids.APPROVE_ACTION
    ) -> SignedRequest:
        (trigger,), (url,) = await self.mint(user, channel=card["channel"], message_ts=card["ts"])
        return self.requests.block_actions(
            user_id=user,
            action_id=action_id,
            value=_button(card["message"]["blocks"], action_id),
            channel_id=card["channel"],
            message_ts=card["ts"],
            message=card["message"],
            trigger_id=trigger,
            response_url=url,
        )


def _button(blocks: list[dict[str, Any]], action_id: str) -> str | None:
    for block in blocks:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element["value"])
    return None
