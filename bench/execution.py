"""Full-bot execution: approve a request of 1,000 / 10,000 servers and time it to the delivered password.

The `World` of bot/demo/ runs in this process (fake Slack, the real bot over HTTP, SQLite store); the
simulator runs in a child process (bench/sim_child.py), as the cloud is another machine in production
(--in-process-sim: in this process, as before 2026-11-27 23:30; its CPU then counts against the bot). Per size and password mode:
  1. a request for every server (tag filter) is submitted and passes pre-flight with the simulator at
     0 ms (pre-flight is not what is measured here; it is timed and printed for information);
  2. the simulator latency is set to 50 ms, Approve is clicked;
  3. measured: click -> first reset call received, click -> password delivered (chat.postEphemeral),
     the number of reset calls and the simulator's maximum in flight, ideal = ceil(calls / bound) x
     latency, and ideal / (click -> delivered) (target >= 0.8); the process's peak RSS.
     Also printed: ideal / (first reset call -> last answer), the calls alone without the bot's
     bookkeeping before and after them (claim, sealing, marking and recording every server, delivery),
     which is what decides the ratio when the ideal is one 50 ms wave (one password, <= 20,000 servers).
     Also the CPU time of this process (bot, store thread, fake Slack) from click to delivered: on a
     loaded machine the work done is steadier than the wall time it took.

    .venv/bin/python bench/execution.py [--quick|--full]    (default 1,000 both modes + 10,000 shared;
                                                              --full adds 10,000 per server; --quick 1,000)
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    header,
    ideal_seconds,
    parse_args,
    peak_rss_mb,
    quiet_logs,
    reset_peak_rss,
    verdict,
    write_json,
)

from bot.demo import APPROVERS, REQUESTER, World
from bot.simulator import Fleet
from bot.slack import ids

TAG = "bench=all"
RESET_PATH = "os-reset-password"  # matches both the batch and the single-server path


def extra(parser: Any) -> None:
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--cases", default=None, help="e.g. 1000:shared,1000:per_server")
    parser.add_argument(
        "--in-process-sim",
        action="store_true",
        help="run the simulator in the bot's process (its CPU then counts against the bot)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        default=None,
        help="profile click -> delivered of each case with pyinstrument (installed for profiling only)"
        " and write DIR/<servers>-<mode>.txt",
    )


class ChildSim:
    """The simulator in its own process (bench/sim_child.py), as the cloud is another machine."""

    def __init__(self, size: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("sim_child.py")),
                *("--servers", str(size), "--seed", "3", "--latency-ms", "0", "--all-resettable"),
                *("--tag", TAG),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self.proc.stdout.readline()  # the bare app's URL: not used here

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def one_case(
    size: int, mode: str, latency_s: float, profile_dir: str | None = None, in_process: bool = False
) -> dict[str, Any]:
    from common import bench_targets_file

    env = {"BOT_CONFIG": str(bench_targets_file())}
    child: ChildSim | None = None
    if in_process:
        fleet = Fleet.generate(size, seed=3, locked_share=0.0, no_plugin_share=0.0)
        for server in fleet:
            server.tags.append(TAG)
    else:
        child = ChildSim(size)
        env["BOT_SIMULATOR_URL"] = child.url  # the World's own simulator (1 server) stays unused
        fleet = Fleet.generate(1, seed=3)
    world = await World.start(fleet=fleet, env=env)
    try:
        await world.runtime.tasks.idle()
        concurrency = world.runtime.config.settings.ecs_concurrency
        view = await world.open_modal(REQUESTER)
        t0 = time.perf_counter()
        status, answer = await world.submit(
            REQUESTER, view, target="bench", servers=[], reason="BENCH-1", mode=mode, tag=TAG
        )
        if status != 200 or answer.strip():
            raise RuntimeError(f"submission refused: {status} {answer[:300]}")
        card = await world.card(timeout=600, approvable=True)
        preflight_s = time.perf_counter() - t0
        if child is not None:
            child.ask(f"latency {latency_s}")
            child.ask("reset")
            sim_cpu = child.cpu_s()
        else:
            world.sim.latency_s = latency_s
            world.sim.reset_stats()
        since = len(world.slack.calls())
        gc.collect()
        reset_peak_rss()
        profiler = None
        if profile_dir:
            from pyinstrument import Profiler  # type: ignore[import-not-found]  # profiling only, not a dependency

            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
        clicked_wall = time.time()
        clicked_cpu = time.process_time()
        clicked = time.perf_counter()
        status, _ = await world.click(APPROVERS[0], ids.APPROVE_ACTION, card)
        assert status == 200
        await world.slack.wait_for(
            "chat.postEphemeral", lambda c: "New password" in str(c.args.get("text")), 900, since=since
        )
        delivered = time.perf_counter() - clicked
        bot_cpu = time.process_time() - clicked_cpu
        if profiler is not None and profile_dir:
            profiler.stop()
            out = Path(profile_dir) / f"{size}-{mode}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(profiler.output_text(unicode=False, show_all=False))
        await world.runtime.tasks.idle()
        if child is not None:
            stats = json.loads(child.ask("stats"))
            calls, max_in_flight = int(stats["resets"]), int(stats["max_in_flight"])
            first_at, last_at = stats["first_reset_at"], stats["last_reset_at"]
            sim_cpu = child.cpu_s() - sim_cpu
        else:
            puts = [c.started_at for c in world.sim.calls if c.method == "PUT" and RESET_PATH in c.path]
            calls, max_in_flight = len(puts), world.sim.max_in_flight
            first_at, last_at = min(puts, default=None), max(puts, default=None)
            sim_cpu = float("nan")
        first_call = first_at - clicked_wall if first_at is not None else float("nan")
        last_call = last_at - clicked_wall + latency_s if last_at is not None else float("nan")
        ideal = ideal_seconds(calls, concurrency, latency_s)
        request = (await world.runtime.store.list_requests(requester_id=REQUESTER, limit=1))[0]
        return {
            "servers": size,
            "mode": mode,
            "preflight_s": preflight_s,
            "click_to_first_call_s": first_call,
            "click_to_last_answer_s": last_call,
            "click_to_delivered_s": delivered,
            "calls": calls,
            "max_in_flight": max_in_flight,
            "simulator": "in process" if child is None else "child process",
            "sim_cpu_s": sim_cpu,
            "bot_cpu_s": bot_cpu,
            "ideal_s": ideal,
            "ratio": ideal / delivered,
            "calls_ratio": ideal / (last_call - first_call),
            "status": request.status.value,
            "outcome": request.outcome_message,
            "peak_rss_mb": peak_rss_mb(),
        }
    finally:
        await world.close()
        if child is not None:
            child.close()


async def main() -> int:
    args = parse_args(__doc__.splitlines()[0], extra)
    quiet_logs()
    if args.cases:
        cases = [(int(n), m) for n, m in (c.split(":") for c in args.cases.split(","))]
    elif args.quick:
        cases = [(1000, "shared"), (1000, "per_server")]
    else:
        cases = [(1000, "shared"), (1000, "per_server"), (10000, "shared")]
        if args.full:
            cases.append((10000, "per_server"))
    header(f"execution: full bot (World), simulator at {args.latency_ms:g} ms during execution")
    rows = []
    for size, mode in cases:
        row = await one_case(size, mode, args.latency_ms / 1000, args.profile, args.in_process_sim)
        rows.append(row)
        print(
            f"{size:>6} servers {mode:<10} pre-flight {row['preflight_s']:6.2f} s | click->first call "
            f"{row['click_to_first_call_s'] * 1000:7.1f} ms  click->last answer {row['click_to_last_answer_s']:7.3f} s  "
            f"click->delivered {row['click_to_delivered_s']:7.3f} s  calls {row['calls']:>6}  "
            f"max in flight {row['max_in_flight']}  ideal {row['ideal_s']:.3f} s  ideal/actual "
            f"{row['ratio']:.2f} [{verdict(row['ratio'] >= 0.8)}] (calls alone {row['calls_ratio']:.2f})  peak RSS {row['peak_rss_mb']:.0f} MiB  "
            f"simulator ({row['simulator']}) CPU {row['sim_cpu_s'] / max(row['calls'], 1) * 1000:.2f} ms/call  "
            f"bot process CPU click->delivered {row['bot_cpu_s']:.2f} s  "
            f"({row['status']}: {row['outcome']})",
            flush=True,
        )
    print(f"process peak RSS {peak_rss_mb():.0f} MiB")
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
