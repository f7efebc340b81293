"""Batch reset through `EcsClient` against the simulator at 50 ms per call: how close to the ideal bound?

For each fleet size (1,000 and 10,000; --quick: 1,000 only) and each mode:
  shared     one password, chunks of 1000 servers per call (all chunks concurrently, under the bound)
  per-server one password per server, one call per server, under the client's bound (default 20)
prints wall time, calls, the maximum in flight the simulator saw, ideal = ceil(calls / concurrency) x
latency, the ratio ideal/actual (target >= 0.8) and the peak RSS of the process.

Same-run baseline: a bare aiohttp client (one session, an asyncio.Semaphore of the same bound) sending the
same number of PUTs with the same JSON bodies (json.dumps; 1,000 servers per call in shared mode) to a
bare aiohttp handler that parses them, sleeps the same latency and answers the same servers back (parsed
with json.loads). Its ideal/actual is the best
this machine's event loop reaches at that bound; `client/bare` = bare wall / client wall (1.0 = as fast as
plain aiohttp).

By default the simulator runs in a child process (bench/sim_child.py), as the cloud is another machine
in production: only the client's CPU time is on the client's core. --in-process puts it in this event loop
(as the tests do); its CPU time then counts against the client.

    .venv/bin/python bench/ecs_batch_reset.py [--quick|--full] [--latency-ms 50] [--concurrency 20]
                                              [--in-process]
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

import aiohttp
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

from bot.ecs import AkSkCredentials, EcsClient, Endpoints
from bot.passwords import generate_password
from bot.simulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY, Fleet, Simulator


def extra(parser: Any) -> None:
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated fleet sizes")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the simulator in this process's event loop (its CPU time counts against the client)",
    )


class SimHandle:
    """The simulator in this process or in a child, behind one small interface."""

    def __init__(self, sim: Simulator | None = None, child: subprocess.Popen[str] | None = None) -> None:
        self.sim, self.child = sim, child

    def _ask(self, command: str) -> str:
        assert self.child is not None and self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        return self.child.stdout.readline().strip()

    def reset(self) -> None:
        if self.sim is not None:
            self.sim.reset_stats()
        else:
            self._ask("reset")

    def cpu_s(self) -> float:
        """CPU seconds the child simulator has used so far (nan in process: it shares ours)."""
        if self.child is None:
            return float("nan")
        fields = Path(f"/proc/{self.child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> tuple[int, int]:
        """(PUT calls, max in flight) since the last reset."""
        if self.sim is not None:
            return len([c for c in self.sim.calls if c.method == "PUT"]), self.sim.max_in_flight
        data = json.loads(self._ask("stats"))
        return int(data["puts"]), int(data["max_in_flight"])


async def run_phase(
    client: EcsClient, sim: SimHandle, ids: list[str], mode: str, concurrency: int, latency_s: float
) -> dict[str, Any]:
    sim.reset()
    sim_cpu = sim.cpu_s()
    gc.collect()
    reset_peak_rss()
    started = time.perf_counter()
    cpu = time.process_time()
    if mode == "shared":
        results = await client.reset_passwords(ids, generate_password(), dry_run=False)
    else:
        passwords = {sid: generate_password() for sid in ids}
        started = time.perf_counter()  # generating 10,000 passwords is not the client's time
        cpu = time.process_time()
        results = await client.reset_passwords_each(passwords, dry_run=False)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    ok = sum(1 for r in results if r.outcome.value == "succeeded")
    sim_cpu = sim.cpu_s() - sim_cpu
    measured_calls, max_in_flight = sim.stats()
    ideal = ideal_seconds(measured_calls, concurrency, latency_s)
    return {
        "servers": len(ids),
        "mode": mode,
        "wall_s": wall,
        "cpu_s": cpu,
        "sim_cpu_s": sim_cpu,
        "calls": measured_calls,
        "succeeded": ok,
        "max_in_flight": max_in_flight,
        "ideal_s": ideal,
        "ratio": ideal / wall if wall else float("nan"),
        "peak_rss_mb": peak_rss_mb(),
    }


async def bare_phase(
    session: aiohttp.ClientSession, url: str, ids: list[str], calls: int, concurrency: int
) -> tuple[float, float]:
    """Wall and CPU time of `calls` plain PUTs under a semaphore of `concurrency`: the same-run floor.

    The calls carry the same JSON as the client's (the `ids` split evenly over the calls, so one server
    per call in per-server mode and 1,000 in shared mode): each body is built with json.dumps, and each
    answer (`{"response": [...]}` with the same servers) parsed with json.loads. No signing, no retries,
    no per-server results."""
    sem = asyncio.Semaphore(concurrency)
    per_call = max(1, -(-len(ids) // max(calls, 1)))
    chunks = [ids[i : i + per_call] for i in range(0, len(ids), per_call)] or [["x"]]

    async def one(chunk: list[str]) -> None:
        body = json.dumps(
            {"new_password": "Bench-Password-20ch", "dry_run": False, "servers": [{"id": i} for i in chunk]}
        ).encode()
        async with sem, session.put(url, data=body) as response:
            json.loads(await response.read())

    await one(chunks[0])
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(chunks[n % len(chunks)]) for n in range(calls)))
    return time.perf_counter() - started, time.process_time() - cpu


async def client_vs_bare(
    session: aiohttp.ClientSession, bare_url: str, ids: list[str], mode: str, concurrency: int
) -> float:
    """Wall time of the same resets by an `EcsClient` whose ECS endpoint is the bare handler."""
    base = bare_url.removesuffix("/bare")
    client = EcsClient(
        session,
        Endpoints(ecs=base, iam=base),
        DEMO_PROJECT_ID,
        AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY),
        max_concurrency=concurrency,
    )
    await client.reset_passwords(ids[:1], generate_password(), dry_run=False)  # warm
    if mode == "shared":
        started = time.perf_counter()
        await client.reset_passwords(ids, generate_password(), dry_run=False)
    else:
        passwords = {sid: generate_password() for sid in ids}
        started = time.perf_counter()
        await client.reset_passwords_each(passwords, dry_run=False)
    return time.perf_counter() - started


async def main() -> int:
    args = parse_args(__doc__.splitlines()[0], extra)
    quiet_logs()
    latency_s = args.latency_ms / 1000
    sizes = (
        [int(s) for s in args.sizes.split(",")] if args.sizes else ([1000] if args.quick else [1000, 10000])
    )
    header(
        f"ecs_batch_reset: EcsClient vs simulator, latency {args.latency_ms:g} ms, bound {args.concurrency}"
    )
    fleet_size = max(sizes)
    fleet = Fleet.generate(fleet_size, seed=1, locked_share=0.0, no_plugin_share=0.0)
    all_ids = [s.id for s in fleet]
    child: subprocess.Popen[str] | None = None
    sim: Simulator | None = None
    if args.in_process:
        sim = Simulator(fleet, latency_s=latency_s)
        url = await sim.start()
        handle = SimHandle(sim=sim)
        from common import serve
        from sim_child import bare_app

        bare_served = await serve(bare_app(sim))
        bare_url = bare_served.url + "/bare"
    else:
        child = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("sim_child.py")),
                "--servers",
                str(fleet_size),
                "--seed",
                "1",
                "--latency-ms",
                str(args.latency_ms),
                "--all-resettable",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        bare_url = child.stdout.readline().strip()
        handle = SimHandle(child=child)
    print(f"# simulator {'in this process' if sim else 'in a child process'} at {url}")
    rows: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession() as session:
            client = EcsClient(
                session,
                Endpoints(ecs=url, iam=url),
                DEMO_PROJECT_ID,
                AkSkCredentials(access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY),
                max_concurrency=args.concurrency,
            )
            await client.check_access()  # warm the connection pool and the code paths
            for size in sizes:
                for mode in ("shared", "per-server"):
                    row = await run_phase(client, handle, all_ids[:size], mode, args.concurrency, latency_s)
                    bare_wall, bare_cpu = await bare_phase(
                        session, bare_url, all_ids[:size], row["calls"], args.concurrency
                    )
                    row["bare_wall_s"] = bare_wall
                    row["bare_cpu_s"] = bare_cpu
                    row["bare_ratio"] = row["ideal_s"] / bare_wall
                    row["client_over_bare"] = bare_wall / row["wall_s"]
                    if child is not None:  # the same client against the bare handler: no simulator cost
                        cheap = await client_vs_bare(
                            session, bare_url, all_ids[:size], mode, args.concurrency
                        )
                        row["client_vs_bare_handler_wall_s"] = cheap
                        row["client_vs_bare_handler_ratio"] = row["ideal_s"] / cheap
                    rows.append(row)
                    print(
                        f"{row['servers']:>6} servers {mode:<10}  wall {row['wall_s']:7.3f} s  "
                        f"calls {row['calls']:>6}  max in flight {row['max_in_flight']}  "
                        f"ideal {row['ideal_s']:6.3f} s  ideal/actual {row['ratio']:.2f} "
                        f"[{verdict(row['ratio'] >= 0.8)}]  ok {row['succeeded']}  "
                        f"peak RSS {row['peak_rss_mb']:.0f} MiB",
                        flush=True,
                    )
                    print(
                        f"{'':>14} bare aiohttp, same calls: wall {bare_wall:7.3f} s  "
                        f"ideal/actual {row['bare_ratio']:.2f}  client/bare {row['client_over_bare']:.2f}  "
                        f"CPU per call here: client {row['cpu_s'] / row['calls'] * 1000:.2f} ms, "
                        f"bare {bare_cpu / row['calls'] * 1000:.2f} ms; simulator {row['sim_cpu_s'] / row['calls'] * 1000:.2f} ms",
                        flush=True,
                    )
                    if "client_vs_bare_handler_ratio" in row:
                        print(
                            f"{'':>14} EcsClient against the bare handler (no simulator cost): wall "
                            f"{row['client_vs_bare_handler_wall_s']:7.3f} s  ideal/actual "
                            f"{row['client_vs_bare_handler_ratio']:.2f}",
                            flush=True,
                        )
    finally:
        if sim is not None:
            await bare_served.close()
            await sim.stop()
        if child is not None:
            assert child.stdin is not None
            child.stdin.close()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    print(f"process peak RSS {peak_rss_mb():.0f} MiB")
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
