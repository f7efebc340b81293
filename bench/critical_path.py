"""Approval -> first reset in measures a loaded machine moves little: the work done, not the time it took.

bench/user_wait.py times the last Approve click -> the first real reset call in wall time, which on a
shared 2-core machine is mostly the share of a core the bot got. This script counts what the bot does in
that window instead, per run, and prints the medians:

  SQL          statements sent to the store (`before_cursor_execute`), and transactions (the BEGIN the
               store sends SQLite itself, counted apart)
  Slack, ECS   calls the fake Slack and the simulator received before the first real (dry_run false)
               reset call arrived
  hand-offs    jobs sent to a thread pool (`loop.run_in_executor`, as `asyncio.to_thread` does) and
               wake-ups from other threads (`loop.call_soon_threadsafe`: the pool, aiosqlite's thread)
  CPU          process CPU time (`time.process_time`: every thread, bot and fakes), the event loop's
               thread alone (`time.thread_time`), the other threads (their difference), in ms
  wall         click -> the simulator stamps the first real reset call (time.time), in ms
  --by-task    also the event loop thread's CPU per asyncio task (each callback the loop runs is charged
               to its task's coroutine, or to the callback's name): which part of the bot spends it; the
               accounting adds ~2 µs per callback to the CPU figures

Everything runs in this process (bot.demo's `World`: the bot over HTTP, fake Slack, the simulator at
0 ms, SQLite), so the CPU figures include the fakes' share, the same in every tree. Each run is one
request of 3 servers (one password), approved once it is approvable and the bot is idle; the first real
reset call is polled for every 2 ms (that loop is in the CPU figures too, a few hundredths of a ms).

Compare two trees by running this script from each, alternating, and reading the ratios of the medians:

    PYTHONPATH=$TREE .venv/bin/python bench/critical_path.py [--quick|--full] [--runs N] [--by-task]
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, parse_args, quiet_logs, write_json
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo import APPROVERS, REQUESTER, World
from bot.simulator import Fleet
from bot.slack import ids

RESET_PATH = "os-reset-password"
PER_REQUEST = 3


def extra(parser: Any) -> None:
    parser.add_argument("--runs", type=int, default=None, help="requests approved (default 40)")
    parser.add_argument("--by-task", action="store_true", help="the loop thread's CPU per asyncio task")


@dataclass
class Window:
    """What happened between one click and the first real reset call."""

    statements: int = 0
    transactions: int = 0
    slack_calls: int = 0
    ecs_calls: int = 0
    executor_jobs: int = 0
    thread_wakeups: int = 0
    cpu_ms: float = 0.0
    loop_cpu_ms: float = 0.0
    wall_ms: float = 0.0
    statement_kinds: list[str] = field(default_factory=list)
    slack_methods: list[str] = field(default_factory=list)
    task_ms: dict[str, float] = field(default_factory=dict)


class TaskCpu:
    """The loop thread's CPU per task while `on`: every `Handle._run` timed with `time.thread_time`."""

    def __init__(self) -> None:
        self.on = False
        self.spent: collections.defaultdict[str, float] = collections.defaultdict(float)
        run = asyncio.events.Handle._run
        owner = self

        def timed(handle: asyncio.Handle) -> None:
            if not owner.on:
                return run(handle)
            started = time.thread_time()
            try:
                return run(handle)
            finally:
                owner.spent[_task_name(handle)] += time.thread_time() - started

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]


def _task_name(handle: asyncio.Handle) -> str:
    callback = handle._callback  # type: ignore[attr-defined]
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        return getattr(task.get_coro(), "__qualname__", "?")
    return "callback " + getattr(callback, "__qualname__", type(callback).__name__)


class Counters:
    """SQL and thread hand-offs counted while `on` (the engine's events and the loop's two entry points)."""

    def __init__(self, engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> None:
        self.on = False
        self.statements: list[tuple[float, str]] = []
        self.transactions: list[float] = []
        self.executor_jobs = 0
        self.thread_wakeups = 0

        def statement(_c: Any, _cur: Any, sql: str, _p: Any, _ctx: Any, _many: bool) -> None:
            if not self.on:
                return
            if sql.lstrip().upper().startswith("BEGIN"):  # the store's own, on SQLite: one per transaction
                self.transactions.append(time.time())
            else:
                self.statements.append((time.time(), _kind(sql)))

        # Not the engine's "begin" event: the store's listener there awaits the driver, and a listener
        # added while it is being dispatched breaks that dispatch (a BEGIN goes missing).
        event.listen(engine.sync_engine, "before_cursor_execute", statement)
        run_in_executor, call_soon_threadsafe = loop.run_in_executor, loop.call_soon_threadsafe

        def counted_job(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
            self.executor_jobs += self.on
            return run_in_executor(executor, func, *args)

        def counted_wakeup(callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
            self.thread_wakeups += self.on  # an int add: safe enough from other threads for a count
            return call_soon_threadsafe(callback, *args, context=context)

        loop.run_in_executor = counted_job  # type: ignore[method-assign,assignment]
        loop.call_soon_threadsafe = counted_wakeup  # type: ignore[method-assign,assignment]


def _kind(sql: str) -> str:
    """'SELECT decisions', 'UPDATE requests'…: the verb and the table it names first."""
    words = sql.replace("(", " ").split()
    upper = [w.upper() for w in words]
    if not upper:
        return "?"
    after = {"UPDATE": "UPDATE", "INSERT": "INTO", "DELETE": "FROM"}.get(upper[0], "FROM")
    if after in upper and upper.index(after) + 1 < len(words):
        return f"{upper[0]} {words[upper.index(after) + 1].strip(chr(34)).split('.')[-1]}"
    return upper[0]


def store_engine(world: World) -> AsyncEngine:
    """The store's engine (a private attribute: found by type, so a rename does not break this script)."""
    for value in vars(world.runtime.store).values():
        if isinstance(value, AsyncEngine):
            return value
    raise LookupError("the store holds no AsyncEngine")


def first_real_reset(world: World, since: int) -> float | None:
    for call in world.sim.calls[since:]:
        dry = isinstance(call.body, dict) and bool(call.body.get("dry_run"))
        if call.method == "PUT" and RESET_PATH in call.path and not dry:
            return call.started_at
    return None


async def one_run(
    world: World, counters: Counters, tasks: TaskCpu | None, names: list[str], run: int
) -> Window:
    _, card = await world.new_request(
        REQUESTER, names, target="demo-aksk", reason=f"OPS-{run} bench", timeout=30, approvable=True
    )
    await world.runtime.tasks.idle()
    await asyncio.sleep(0.2)  # card edits, DMs and Home tab refreshes of the submission settle first
    await world.runtime.tasks.idle()
    gc.collect()
    sql_since, tx_since = len(counters.statements), len(counters.transactions)
    slack_since, ecs_since = len(world.slack.calls()), len(world.sim.calls)
    jobs, wakeups = counters.executor_jobs, counters.thread_wakeups
    counters.on = True
    if tasks is not None:
        tasks.spent.clear()
        tasks.on = True
    clicked, cpu, loop_cpu = time.time(), time.process_time(), time.thread_time()
    status, _ = await world.click(APPROVERS[0], ids.APPROVE_ACTION, card)
    first = first_real_reset(world, ecs_since)
    while first is None and time.time() < clicked + 30:
        await asyncio.sleep(0.002)
        first = first_real_reset(world, ecs_since)
    cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
    counters.on = False
    if tasks is not None:
        tasks.on = False
    if status != 200 or first is None:
        raise RuntimeError(f"run {run}: the click got {status}, first reset call {first}")
    statements = [k for t, k in counters.statements[sql_since:] if t < first]
    slack = [c.method for c in world.slack.calls()[slack_since:] if c.ts < first]
    ecs = [c for c in world.sim.calls[ecs_since:] if c.started_at < first]
    window = Window(
        statements=len(statements),
        transactions=len([t for t in counters.transactions[tx_since:] if t < first]),
        slack_calls=len(slack),
        ecs_calls=len(ecs),
        executor_jobs=counters.executor_jobs - jobs,
        thread_wakeups=counters.thread_wakeups - wakeups,
        cpu_ms=cpu * 1000,
        loop_cpu_ms=loop_cpu * 1000,
        wall_ms=(first - clicked) * 1000,
        statement_kinds=statements,
        slack_methods=slack,
        task_ms={k: v * 1000 for k, v in tasks.spent.items()} if tasks is not None else {},
    )
    await world.runtime.tasks.idle()
    return window


async def main() -> int:
    args = parse_args(__doc__.splitlines()[0], extra)
    quiet_logs()
    runs = args.runs or (10 if args.quick else 100 if args.full else 40)
    header(f"critical_path: what approval -> first reset does, {runs} runs of {PER_REQUEST} servers")
    fleet = Fleet.generate(runs * PER_REQUEST, seed=7, locked_share=0.0, no_plugin_share=0.0)
    env = {"BOT_MAX_SUBMISSIONS_PER_MINUTE": "10000", "BOT_MAX_OPEN_REQUESTS": "10000"}
    world = await World.start(fleet=fleet, env=env)
    try:
        counters = Counters(store_engine(world), asyncio.get_running_loop())
        tasks = TaskCpu() if args.by_task else None
        names = [s.name for s in fleet]
        windows = [
            await one_run(world, counters, tasks, names[i * PER_REQUEST : (i + 1) * PER_REQUEST], i + 1)
            for i in range(runs)
        ]
    finally:
        await world.close()
    med: dict[str, float] = {
        name: statistics.median(float(getattr(w, name)) for w in windows)
        for name in (
            "statements",
            "transactions",
            "slack_calls",
            "ecs_calls",
            "executor_jobs",
            "thread_wakeups",
            "cpu_ms",
            "loop_cpu_ms",
            "wall_ms",
        )
    }
    other = statistics.median(w.cpu_ms - w.loop_cpu_ms for w in windows)
    print(
        f"SQL statements {med['statements']:.0f} in {med['transactions']:.0f} transactions | "
        f"Slack calls {med['slack_calls']:.0f} | ECS calls before the reset {med['ecs_calls']:.0f} | "
        f"thread pool jobs {med['executor_jobs']:.0f}, wake-ups from threads {med['thread_wakeups']:.0f}"
        "   (medians per run)"
    )
    print(
        f"CPU p50 {med['cpu_ms']:.2f} ms (event loop's thread {med['loop_cpu_ms']:.2f}, other threads "
        f"{other:.2f}) | wall p50 {med['wall_ms']:.2f} ms | {runs} runs, load {os.getloadavg()[0]:.2f}"
    )
    last = windows[-1]
    print(f"last run's statements: {' | '.join(last.statement_kinds)}")
    print(f"last run's Slack calls: {', '.join(last.slack_methods) or 'none'}")
    if args.by_task:
        seen = {name for w in windows for name in w.task_ms}
        per_task = {n: statistics.median(w.task_ms.get(n, 0.0) for w in windows) for n in seen}
        print("loop thread's CPU per task, p50 ms:")
        for name, spent in sorted(per_task.items(), key=lambda item: -item[1])[:12]:
            print(f"  {spent:6.2f}  {name}")
    write_json(args.json, {"medians": med, "other_threads_cpu_ms": other, "runs": [vars(w) for w in windows]})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
