"""The processes of the HTTP benchmarks: the fakes (bench/fakes_child.py), the bot (`python -m bot run`)
and the bare Bolt baselines (bench/bare_child.py), each alone in its process; the measuring client is
the parent. `remote_people` gives it the one driver of people's moves (`bot.demo.People`) reading
Slack's side from the fakes' process (`RemoteFakes`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
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

from bot.demo import SIGNING_SECRET, CallMatch, People, demo_environment  # noqa: E402
from bot.simulator.slack import SlackCall, SlackRequests, StoredMessage, StoredView  # noqa: E402


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


def start_fakes(
    servers: int, *, seed: int = 5, tag: str | None = None, untagged: int = 0, latency_ms: float = 0.0
) -> Processes:
    """The fakes' process: `servers` servers, all but the first `untagged` carrying `tag` (if given)."""
    args = [str(HERE / "fakes_child.py"), "--servers", str(servers), "--seed", str(seed)]
    args += ["--latency-ms", str(latency_ms)] + (["--tag", tag, "--untagged", str(untagged)] if tag else [])
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


class RemoteFakes:
    """The fakes' process from the measuring client: the `SlackSide` `People` read (over its JSON RPC,
    bench/fakes_child.py), and `rpc` for the simulator's knobs (sim_reset, sim_latency, sim_calls)."""

    def __init__(self, rpc_url: str, session: aiohttp.ClientSession) -> None:
        self.rpc_url = rpc_url
        self.http = session

    async def rpc(self, op: str, *, wait_s: float = 0.0, **args: Any) -> Any:
        """One operation of bench/fakes_child.py (`wait_s`: how long it may wait there, beyond the
        session's own timeout); TimeoutError when its wait timed out there."""
        # The session's default timeout (five minutes), on top of the wait.
        timeout = aiohttp.ClientTimeout(total=300 + wait_s)
        async with self.http.post(self.rpc_url, json={"op": op, **args}, timeout=timeout) as response:
            answer = await response.json()
        if response.status != 200:
            raise TimeoutError(answer.get("error"))
        return answer

    async def call_count(self) -> int:
        return int((await self.rpc("count"))["count"])

    async def wait_for(self, match: CallMatch, timeout: float = 30.0, *, since: int = 0) -> SlackCall:
        """Waits in the fakes' process (30 s by default: the bot is another process on a busy machine)."""
        answer = await self.rpc(
            "wait_for", wait_s=timeout, match=match.to_json(), since=since, timeout=timeout
        )
        return SlackCall(**answer)

    async def triggers(self, user_id: str, n: int = 1) -> list[str]:
        return list((await self.rpc("triggers", user=user_id, n=n))["triggers"])

    async def response_urls(
        self, channel: str, user_id: str, message_ts: str | None = None, n: int = 1
    ) -> list[str]:
        answer = await self.rpc("response_urls", channel=channel, user=user_id, message_ts=message_ts, n=n)
        return list(answer["urls"])

    async def open_view(self, user_id: str, callback_id: str) -> dict[str, Any] | None:
        view: dict[str, Any] | None = (await self.rpc("open_view", user=user_id, callback_id=callback_id))[
            "view"
        ]
        return view

    async def messages(self, channel: str) -> list[StoredMessage]:
        return [StoredMessage(**m) for m in (await self.rpc("messages", channel=channel))["messages"]]

    async def home(self, user_id: str) -> StoredView | None:
        home = (await self.rpc("home", user=user_id))["home"]
        return StoredView(**home) if home is not None else None


def remote_people(procs: Processes, session: aiohttp.ClientSession) -> tuple[People, RemoteFakes]:
    """The people's moves against the bot process, and the fakes' process they read Slack's side from."""
    fakes = RemoteFakes(procs.info["rpc_url"], session)
    requests = SlackRequests(SIGNING_SECRET, team_id=procs.info["team_id"], api_app_id=procs.info["app_id"])
    return People(procs.bot_url, requests, session, fakes), fakes
