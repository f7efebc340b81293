"""Shared helpers of the benchmarks: figures, peak RSS, a bench targets file, bare Bolt apps.

Every script in bench/ is a plain program: `.venv/bin/python bench/<name>.py [--quick|--full]`.
Nothing here asserts on time; the scripts print figures and say whether a target was met.
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python bench/x.py` from a fresh clone
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

# ------------------------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def p50_p99(values: Sequence[float]) -> tuple[float, float]:
    return percentile(values, 50), percentile(values, 99)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def header(title: str) -> None:
    print(f"# {title}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  python {platform.python_version()}  "
        f"cores {os.cpu_count()}  {platform.machine()}  load {os.getloadavg()[0]:.2f}"
    )
    sys.stdout.flush()


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def ideal_seconds(calls: int, concurrency: int, latency_s: float) -> float:
    """The bound no client can beat: calls in waves of `concurrency`, each wave one latency long."""
    return math.ceil(calls / concurrency) * latency_s


def parse_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=description)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs (a smoke run)")
    size.add_argument("--full", action="store_true", help="the largest sizes (may take several minutes)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    if extra:
        extra(parser)
    return parser.parse_args()


def write_json(path: str | None, figures: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=str))


def quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------------- the bot

#: Like bot/demo_targets.yml (demo-aksk), with room for 10,000 servers, per-server passwords allowed,
#: no reason pattern, one approval.
BENCH_TARGETS = """\
targets:
  - name: bench
    cloud: huaweicloud
    region: eu-west-101
    project_id: 0123456789abcdef0123456789abcdef
    ecs_endpoint: "${BOT_SIMULATOR_URL}"
    iam_endpoint: "${BOT_SIMULATOR_URL}"
    auth: {type: aksk, access_key_env: DEMO_ACCESS_KEY, secret_key_env: DEMO_SECRET_KEY}
    requesters: []
    approvers: [UDEMOAPPROVER1, UDEMOAPPROVER2]
    approvals_required: 1
    approvers_channel: CDEMOAPPROVALS
    request_ttl: 1h
    max_servers: 20000
    allow_per_server_passwords: true
"""


def bench_targets_file() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="ecs-bench-"))
    path = tmp / "targets.yml"
    path.write_text(BENCH_TARGETS)
    return path


# ------------------------------------------------------------------------------------------- bare Bolt


@dataclass
class Served:
    url: str
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve(app: web.Application) -> Served:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return Served(f"http://{host}:{port}", runner)


def bare_bolt_app(
    signing_secret: str,
    *,
    process_before_response: bool,
    slack_api_url: str,
    token: str,
    options: list[Any] | None = None,
) -> Any:
    """A Bolt AsyncApp that only acks: the command, any action, and the options request (fixed list).

    Its client points at the fake Slack (Bolt calls auth.test once, as it does for the bot).
    """
    import re

    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_api_url),
        signing_secret=signing_secret,
        process_before_response=process_before_response,
    )
    fixed = options or []

    @app.command(re.compile(".*"))
    async def command(ack: Any) -> None:
        await ack()

    @app.action(re.compile(".*"))
    async def action(ack: Any) -> None:
        await ack()

    @app.options(re.compile(".*"))
    async def opts(ack: Any) -> None:
        await ack(options=fixed)

    return app


async def timed_posts(
    session: aiohttp.ClientSession,
    url: str,
    make: Callable[[], Any],
    *,
    clients: int,
    per_client: int,
    check: Callable[[int, str], None] | None = None,
) -> list[float]:
    """`clients` concurrent loops, each posting `per_client` signed requests back to back; latencies."""
    latencies: list[float] = []

    async def loop() -> None:
        for _ in range(per_client):
            request = make()
            started = time.perf_counter()
            async with session.post(url, data=request.body, headers=request.headers) as response:
                text = await response.text()
                status = response.status
            latencies.append(time.perf_counter() - started)
            if check:
                check(status, text)

    await asyncio.gather(*(loop() for _ in range(clients)))
    return latencies


async def gather_limited(coros: Sequence[Awaitable[Any]], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Awaitable[Any]) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
