"""Start-up time to the first /healthz 200 and idle RSS: the bot's Runtime vs a bare Bolt AsyncApp process.

Each sample starts a fresh Python process (`python bench/startup.py --child bot|bare --port P`), and
the parent polls http://127.0.0.1:P/healthz every 5 ms from the spawn until 200; then waits 1 s and reads
the child's VmRSS (idle RSS). The bot child is what `python -m bot run` does in HTTP mode (Runtime.build,
start, the web app with /slack/events, /healthz, /metrics) with the demo targets pointed at a simulator
the parent runs in a third process, and a fake Slack for auth. The bare child: an AsyncApp with one
command listener served by aiohttp, with a /healthz route. Runs alternate bot/bare.

    .venv/bin/python bench/startup.py [--quick|--full]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test aids the benchmarks share (tests/support)

from support.processes import free_port  # noqa: E402


async def child_bot(port: int) -> None:
    from aiohttp import web

    from bot.app import Runtime
    from bot.config import load_app_config

    config = load_app_config()
    runtime = await Runtime.build(config)
    await runtime.start()
    runner = web.AppRunner(runtime.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def child_bare(port: int) -> None:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    app = AsyncApp(
        client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    @app.command("/reset-ecs-password")
    async def command(ack):  # type: ignore[no-untyped-def]
        await ack()

    web_app = app.web_app(path="/slack/events")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample(kind: str, env: dict[str, str]) -> tuple[float, float]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "--child", kind, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.devnull if not os.environ.get("BENCH_DEBUG") else "/tmp/startup_child.log", "a"),
    )
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{kind} exited with {proc.returncode} (BENCH_DEBUG=1: stderr in /tmp)"
                    ) from None
                time.sleep(0.005)
        else:
            raise TimeoutError(f"{kind} did not answer /healthz within 60 s")
        took = time.perf_counter() - started
        time.sleep(1.0)
        return took, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["bot", "bare"])
    parser.add_argument("--port", type=int)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--full", action="store_true")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args()
    if args.child:
        asyncio.run(child_bot(args.port) if args.child == "bot" else child_bare(args.port))
        return 0

    from common import header, median, verdict, write_json

    from bot.demo import demo_environment

    runs = 3 if args.quick else 15 if args.full else 7
    header(f"startup: process spawn -> first /healthz 200, {runs} runs each, alternating")
    sim = subprocess.Popen(
        [sys.executable, str(HERE / "sim_child.py"), "--servers", "50", "--latency-ms", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    slack = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import asyncio, sys\n"
                f"sys.path.insert(0, {str(HERE.parent)!r})\n"
                "from bot.simulator.slack import FakeSlack\n"
                "async def main():\n"
                "    s = FakeSlack(); await s.start(); print(s.api_url, flush=True); await asyncio.Event().wait()\n"
                "asyncio.run(main())\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None and slack.stdout is not None
        sim_url = sim.stdout.readline().strip()
        sim.stdout.readline()
        slack_api = slack.stdout.readline().strip()
        tmp = Path(tempfile.mkdtemp(prefix="ecs-bench-startup-"))
        env = {**os.environ, **demo_environment(sim_url, slack_api, tmp), "BOT_LOG_LEVEL": "WARNING"}
        results: dict[str, list[tuple[float, float]]] = {"bot": [], "bare": []}
        for run in range(runs):
            for kind in ("bot", "bare"):
                if kind == "bot":  # a fresh database each time: migrations are part of a first start
                    env["BOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp / f'run{run}.sqlite3'}"
                results[kind].append(sample(kind, env))
        for kind, values in results.items():
            times = [t for t, _ in values]
            print(
                f"{kind:<4} to first /healthz: median {median(times) * 1000:7.1f} ms  min {min(times) * 1000:7.1f}"
                f"  max {max(times) * 1000:7.1f} ms | idle RSS median {median([r for _, r in values]):6.1f} MiB",
                flush=True,
            )
        bot_t, bare_t = median([t for t, _ in results["bot"]]), median([t for t, _ in results["bare"]])
        bot_r, bare_r = median([r for _, r in results["bot"]]), median([r for _, r in results["bare"]])
        print(
            f"ratio bot/bare: start-up {bot_t / bare_t:.2f}x  idle RSS {bot_r / bare_r:.2f}x "
            f"(no target given; {verdict(bot_t < 3.0)} for 'healthy within 3 s')"
        )
        write_json(
            args.json,
            {
                kind: {"start_s": [t for t, _ in v], "idle_rss_mb": [r for _, r in v]}
                for kind, v in results.items()
            },
        )
    finally:
        for proc in (sim, slack):
            if proc.stdin:
                proc.stdin.close()
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
